// Package preflighttest has the fake container the preflight and doctor tests judge: mount
// tables seen in real runtimes and a System made of maps. Tests only; no product code imports it.
package preflighttest
