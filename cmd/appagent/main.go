// Command appagent runs a multi-service application in one systemd container: it prepares the
// image, initialises the volume, forwards the journal and reports health. See README.md.
//
// This package only wires flags to the agent packages and maps errors to exit codes
// (agent/exitcode); it holds no logic of its own.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/appagent/appagent/agent/config"
	"github.com/appagent/appagent/agent/exitcode"
)

// command is one subcommand. Each lives in its own cmd_<name>.go file.
type command struct {
	name    string
	summary string // one line for the command list
	usage   string // arguments after the name
	help    string // what it does, long form; EXIT STATUS is appended from exits
	exits   []exitcode.Code
	anyArgs bool // take arguments although usage names none (init: the base image's CMD is appended)
	// passthrough: run gets the arguments unparsed, --help included (kube hands them on to
	// appagent-kube, which owns its flags and help).
	passthrough bool
	flags       func(fs *flag.FlagSet)
	run         func(ctx context.Context, env *cmdEnv, args []string) error
}

// cmdEnv is what a command may touch of the process.
type cmdEnv struct {
	stdout, stderr io.Writer
	json           bool // --json given: the final error is JSON too
}

func commands() []*command {
	return []*command{
		cmdPrepare(), cmdInit(), cmdRun(), cmdStatus(), cmdDiff(), cmdDoctor(), cmdVersion(),
		cmdGenerate(), cmdKeeper(), cmdReportFailure(), cmdStamp(), cmdConfine(), cmdUpgrade(), cmdOCIHook(), cmdKube(),
	}
}

func main() {
	// systemd runs generators by their path; the image links
	// /usr/lib/systemd/system-generators/appagent-generator to this binary.
	if filepath.Base(os.Args[0]) == "appagent-generator" {
		os.Exit(int(runCommand(cmdGenerate(), os.Args[1:])))
	}
	// The image's entrypoint /usr/local/sbin/init links here (prepare makes the link, see
	// agent/prepare.InitLink): podman and CRI-O run that name in systemd mode, no flag needed.
	if filepath.Base(os.Args[0]) == "init" {
		os.Exit(int(runCommand(cmdInit(), os.Args[1:])))
	}
	// appagent-kube is appagent built with the kube command (cmd_kube.go), run by that name.
	if filepath.Base(os.Args[0]) == kubeBinary {
		os.Exit(int(runCommand(cmdKube(), os.Args[1:])))
	}
	os.Exit(int(dispatch(os.Args[1:])))
}

// kubeBinary is the name of the binary that holds the kube command (cmd_kube_exec.go says why).
const kubeBinary = "appagent-kube"

// kubeSummary is the kube command's line in the command list, the same in both binaries.
const kubeSummary = "print the Kubernetes objects (or an OpenShift Template) that deploy the image"

func dispatch(args []string) exitcode.Code {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		if len(args) > 1 {
			c := find(args[1])
			if c == nil {
				return unknownCommand(args[1])
			}
			if c.passthrough {
				return runCommand(c, []string{"--help"})
			}
			printHelp(os.Stdout, c)
			return exitcode.OK
		}
		printUsage(os.Stdout)
		if len(args) == 0 {
			return exitcode.Usage
		}
		return exitcode.OK
	}
	c := find(args[0])
	if c == nil {
		return unknownCommand(args[0])
	}
	return runCommand(c, args[1:])
}

func unknownCommand(name string) exitcode.Code {
	fmt.Fprintf(os.Stderr, "appagent: unknown command %q", name)
	var names []string
	for _, c := range commands() {
		names = append(names, c.name)
	}
	if s := config.Suggest(name, names); s != "" {
		fmt.Fprintf(os.Stderr, "; did you mean %q?", s)
	}
	fmt.Fprintln(os.Stderr, "\nRun 'appagent help' for the list of commands.")
	return exitcode.Usage
}

func find(name string) *command {
	for _, c := range commands() {
		if c.name == name {
			return c
		}
	}
	return nil
}

func runCommand(c *command, args []string) exitcode.Code {
	return runCommandTo(c, args, os.Stdout, os.Stderr)
}

func runCommandTo(c *command, args []string, stdout, stderr io.Writer) exitcode.Code {
	env := &cmdEnv{stdout: stdout, stderr: stderr}
	if c.passthrough {
		return reportError(c, env, c.run(context.Background(), env, args))
	}
	fs := flag.NewFlagSet("appagent "+c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if c.flags != nil {
		c.flags(fs)
	}
	// --json asks for JSON on every outcome, a bad command line included; it may come after
	// the flag that failed to parse, so look for it in the arguments themselves.
	env.json = fs.Lookup("json") != nil && jsonAsked(args)
	usage := func(err error) exitcode.Code {
		if env.json {
			writeJSONError(stdout, exitcode.Usage, err)
		} else {
			fmt.Fprintf(stderr, "appagent %s: %v\nRun 'appagent %s --help' for usage.\n", c.name, err, c.name)
		}
		return exitcode.Usage
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printHelp(stdout, c)
			return exitcode.OK
		}
		// The flag package calls every flag that may stand alone "boolean"; --wait=soon is not.
		if rest, ok := strings.CutPrefix(err.Error(), "invalid boolean value "); ok {
			if _, isWait := flagValue(fs, rest).(*waitFlag); isWait {
				err = errors.New("invalid value " + rest)
			}
		}
		return usage(err)
	}
	if c.usage == "" && !c.anyArgs && fs.NArg() > 0 {
		// Never ignore an argument: 'appagent prepare /mnt/image' must not prepare /.
		return usage(fmt.Errorf("unexpected argument %q: this command takes flags only (a flag is written --name=value)", fs.Arg(0)))
	}
	if f := fs.Lookup("json"); f != nil {
		env.json = f.Value.String() == "true"
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return reportError(c, env, c.run(ctx, env, fs.Args()))
}

// reportError prints a command's error (as JSON with --json) and returns its exit code.
func reportError(c *command, env *cmdEnv, err error) exitcode.Code {
	code := exitcode.Of(err)
	// errReported: the command printed its answer already (status, doctor); only the code is left.
	if err != nil && !errors.Is(err, errReported) {
		if env.json {
			writeJSONError(env.stdout, code, err)
		} else {
			fmt.Fprintf(env.stderr, "appagent %s: %v\n", c.name, err)
		}
	}
	return code
}

// flagValue finds the flag named in the rest of a parse error: `"x" for -name: why`.
func flagValue(fs *flag.FlagSet, rest string) flag.Value {
	_, after, ok := strings.Cut(rest, " for -")
	if !ok {
		return nil
	}
	name, _, _ := strings.Cut(after, ":")
	if f := fs.Lookup(name); f != nil {
		return f.Value
	}
	return nil
}

// jsonAsked tells whether the command line sets --json, before a "--" that ends the flags.
func jsonAsked(args []string) bool {
	on := false
	for _, a := range args {
		if a == "--" {
			break
		}
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "-") || name != "json" {
			continue
		}
		on = !hasVal
		if hasVal {
			on, _ = strconv.ParseBool(val)
		}
	}
	return on
}

func writeJSONError(w io.Writer, code exitcode.Code, err error) {
	_ = json.NewEncoder(w).Encode(map[string]any{
		"error": err.Error(), "exit_code": int(code), "exit_name": codeName(code)})
}

func codeName(c exitcode.Code) string {
	for _, e := range exitcode.Table {
		if e.Code == c {
			return e.Name
		}
	}
	return "unknown"
}

func printUsage(w io.Writer) {
	fmt.Fprint(w, `appagent runs a multi-service application in ONE systemd container that keeps all of
its state on one volume and survives re-creation and image upgrades.

Usage: appagent <command> [flags] [arguments]

Commands:
`)
	for _, c := range commands() {
		if c.summary == "" {
			continue
		}
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, `
In an image:   RUN appagent prepare            (build time)
               ENTRYPOINT ["/usr/local/sbin/init"]  (prepare's link to appagent: runs init)
In a container: podman exec CONTAINER appagent status

Run 'appagent <command> --help' for a command's flags and exit codes.
Documentation: README.md, docs/config.md, docs/exit-codes.md.
`)
}

func printHelp(w io.Writer, c *command) {
	fmt.Fprintf(w, "%s\n\n%s\n", strings.TrimSpace("Usage: appagent "+c.name+" [flags] "+c.usage), strings.TrimSpace(c.help))
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	if c.flags != nil {
		c.flags(fs)
	}
	has := false
	fs.VisitAll(func(*flag.Flag) { has = true })
	if has {
		fmt.Fprintln(w, "\nFlags:")
		fs.SetOutput(w)
		fs.PrintDefaults()
	}
	if len(c.exits) > 0 {
		fmt.Fprintln(w, "\nEXIT STATUS")
		for _, code := range c.exits {
			for _, e := range exitcode.Table {
				if e.Code == code {
					fmt.Fprintf(w, "  %3d  %s\n", e.Code, meaningFor(c.name, e))
				}
			}
		}
	}
}

// meaningFor is an exit code's meaning as one command's help says it: the table's words for
// several commands ("success; for `status`: …") are cut to the part that concerns this one.
func meaningFor(cmd string, e exitcode.Entry) string {
	m := e.Meaning
	head, rest, ok := strings.Cut(m, "; for `")
	if !ok {
		return m
	}
	who, what, ok := strings.Cut(rest, "`: ")
	if !ok {
		return m
	}
	if who == cmd {
		return what
	}
	return head
}
