// Command faxkit is the faxkit command line: fax sending and receiving,
// TIFF tools, and the HIPAA safeguard tools (audit log verification, sealed
// store administration).
//
// Usage:
//
//	faxkit <command> <subcommand> [flags] [args]
//	faxkit help [command]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
)

// command is one top-level subcommand. Each lives in its own file
// (audit.go, store.go, ...). run returns an error to print; errUsage asks
// for the command's help text and exit status 2.
type command struct {
	name    string
	summary string
	usage   string // full help text, printed by "faxkit help <name>"
	run     func(ctx context.Context, env *env, args []string) error
}

// commands is the table of subcommands, in help order. To add one (send,
// receive, tiff), write <name>.go defining a command value and list it here.
var commands = []*command{
	sendCmd,
	receiveCmd,
	tiffCmd,
	storeCmd,
	auditCmd,
	versionCmd,
}

// env is what a command may touch: its streams and environment, so tests
// can run commands in-process.
type env struct {
	stdout, stderr io.Writer
	stdin          io.Reader
	getenv         func(string) string
}

var errUsage = errors.New("usage")

// exitError carries a specific exit status.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, &env{stdout: os.Stdout, stderr: os.Stderr, stdin: os.Stdin, getenv: os.Getenv}, os.Args[1:])
	stop()
	os.Exit(code)
}

func lookup(name string) *command {
	for _, c := range commands {
		if c.name == name {
			return c
		}
	}
	return nil
}

// run dispatches args and returns the process exit status.
func run(ctx context.Context, e *env, args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		printHelp(e.stderr)
		return 2
	}
	if args[0] == "help" {
		if len(args) > 1 {
			if c := lookup(args[1]); c != nil {
				fmt.Fprint(e.stdout, c.usage)
				return 0
			}
		}
		printHelp(e.stdout)
		return 0
	}
	c := lookup(args[0])
	if c == nil {
		fmt.Fprintf(e.stderr, "faxkit: unknown command %q\n", args[0])
		printHelp(e.stderr)
		return 2
	}
	err := c.run(ctx, e, args[1:])
	var ee *exitError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errUsage), errors.Is(err, flag.ErrHelp):
		// Say what is wrong first (flag errors were printed by the flag
		// package), then how to use the command.
		if err != errUsage && !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(e.stderr, "faxkit %s: %s\n", c.name, strings.TrimPrefix(err.Error(), errUsage.Error()+": "))
		}
		fmt.Fprint(e.stderr, c.usage)
		return 2
	case errors.As(err, &ee):
		fmt.Fprintf(e.stderr, "faxkit %s: %v\n", c.name, ee.err)
		return ee.code
	}
	fmt.Fprintf(e.stderr, "faxkit %s: %v\n", c.name, err)
	return 1
}

func printHelp(w io.Writer) {
	fmt.Fprintln(w, "usage: faxkit <command> [arguments]\n\ncommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun \"faxkit help <command>\" for details.")
}

// subcommand dispatches the second word of a command ("store put").
type subcommand struct {
	name string
	run  func(ctx context.Context, e *env, args []string) error
}

func dispatch(ctx context.Context, e *env, args []string, subs []subcommand) error {
	if len(args) == 0 {
		return errUsage
	}
	for _, s := range subs {
		if s.name == args[0] {
			return s.run(ctx, e, args[1:])
		}
	}
	return fmt.Errorf("%w: unknown subcommand %q", errUsage, args[0])
}

// newFlags returns a FlagSet that reports errors instead of exiting.
func newFlags(e *env, name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	return fs
}
