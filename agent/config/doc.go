// Package config loads and validates the image's declaration, /etc/appagent/appagent.yaml.
//
// It owns the file format (strict: unknown keys are errors) and reports every problem at once
// with file, line and key. It does not act on the declaration: the volume, parameter, unit and
// log packages do that with the typed Config it returns.
package config
