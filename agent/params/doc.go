// Package params is the image's parameters: sources, validation, storage on the volume and
// files for units.
//
// A parameter's value comes, highest first, from the environment variable NAME, a file named
// by NAME_FILE, a file /run/secrets/NAME, the value stored on the volume at an earlier start,
// or the declared default. Resolve checks every value against its declaration and reports
// every problem at once; Store keeps the given values on the volume; WriteRuntime writes the
// files the application's units read (/run/appagent). The declaration format and its
// validation live in agent/config; the unit drop-ins that read these files live in
// agent/units. This package never logs or prints a secret value.
package params
