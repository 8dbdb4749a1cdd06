package main

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"runtime/debug"
)

var versionCmd = &command{
	name:    "version",
	summary: "print faxkit's version",
	usage: `usage: faxkit version [-json]

Prints the faxkit module version this binary was built from (as
"go install github.com/faxkit/faxkit/cmd/faxkit@VERSION" records it, or
"(devel)" for a build from a working tree), the VCS revision when the
build recorded one, and the Go version. -json prints one object with
the fields module, version, revision, modified and go.
`,
	run: runVersion,
}

// versionInfo is "faxkit version -json".
type versionInfo struct {
	Module   string `json:"module"`
	Version  string `json:"version"`
	Revision string `json:"revision,omitempty"`
	Modified bool   `json:"modified,omitempty"`
	Go       string `json:"go"`
}

// readVersion reads the version from the binary's build information.
func readVersion() versionInfo {
	v := versionInfo{Module: "github.com/faxkit/faxkit", Version: "unknown", Go: runtime.Version()}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return v
	}
	if bi.Main.Path != "" {
		v.Module = bi.Main.Path
	}
	if bi.Main.Version != "" {
		v.Version = bi.Main.Version
	}
	v.Go = bi.GoVersion
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			v.Revision = s.Value
		case "vcs.modified":
			v.Modified = s.Value == "true"
		}
	}
	return v
}

func runVersion(_ context.Context, e *env, args []string) error {
	fs := newFlags(e, "version")
	asJSON := fs.Bool("json", false, "print one JSON object")
	fs.Usage = func() {}
	if err := fs.Parse(args); err != nil {
		return usageErr(err)
	}
	if fs.NArg() != 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	v := readVersion()
	if *asJSON {
		return json.NewEncoder(e.stdout).Encode(v)
	}
	s := fmt.Sprintf("faxkit %s", v.Version)
	if v.Revision != "" {
		s += " (" + v.Revision
		if v.Modified {
			s += ", modified"
		}
		s += ")"
	}
	fmt.Fprintf(e.stdout, "%s %s\n", s, v.Go)
	return nil
}
