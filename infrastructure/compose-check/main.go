// Command compose-check loads Docker Compose files with compose-go, the loader `docker compose`
// itself uses, and reports for each file either "ok FILE: N services" or the loader's error.
// Nothing is started and no Docker engine is needed: this is the schema validation,
// interpolation, path and env_file resolution and consistency check (depends_on naming a missing
// service, unknown keys, wrong types, ...) that `docker compose config` would do.
//
// A file that another file on the command line includes (`include:`) is not a project of its
// own: Compose loads it as its own model, without the consistency check, and merges it into the
// including project, so its depends_on may name a service of a sibling file. It is checked the
// same way, and its depends_on are then checked against the services of the including project.
// Every other file is loaded as a whole project, consistency check on.
//
// Usage: compose-check [--env KEY=VALUE]... [--env-file FILE]... [--os-env] FILE...
// Exit status: 0 when every file loads, 1 when one does not, 2 on a usage error.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/dotenv"
	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/template"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/sirupsen/logrus"
	"go.yaml.in/yaml/v4"
)

const usage = `Usage: compose-check [--env KEY=VALUE]... [--env-file FILE]... [--os-env] FILE...

Loads each Docker Compose FILE with compose-go (the loader of 'docker compose'), consistency
checks on, and prints "ok FILE: N services" or "error FILE: <the loader's error>".
A FILE that another FILE includes is loaded as Compose loads an include (its own model, no
consistency check of its own) and its depends_on are checked against the including project.

Interpolation sees only the variables given here, unless --os-env:
  --env KEY=VALUE   a variable (repeatable; wins over the others)
  --env-file FILE   a dotenv file (repeatable; default: .env beside each project, as Compose)
  --os-env          also this process's environment, as 'docker compose' would
Exit status: 0 when every file loads, 1 when one does not, 2 on a usage error.
`

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

type settings struct {
	env      []string
	envFiles []string
	osEnv    bool
}

// include is one entry of a file's `include:` list, its paths made absolute.
type include struct {
	paths      []string // the first is the main file, the others override it
	projectDir string
	envFiles   []string
}

type composeFile struct {
	arg      string // as given on the command line: the name printed
	abs      string
	includes []include
	readErr  error
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("compose-check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage) }
	var s settings
	fs.Var((*listFlag)(&s.env), "env", "KEY=VALUE")
	fs.Var((*listFlag)(&s.envFiles), "env-file", "dotenv file")
	fs.BoolVar(&s.osEnv, "os-env", false, "use the process environment too")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, usage)
			return 0
		}
		return 2
	}
	for _, kv := range s.env {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			fmt.Fprintf(stderr, "compose-check: --env %q is not KEY=VALUE\n", kv)
			return 2
		}
	}
	for i, f := range s.envFiles {
		abs, err := filepath.Abs(f)
		if err != nil {
			fmt.Fprintf(stderr, "compose-check: --env-file %s: %v\n", f, err)
			return 2
		}
		s.envFiles[i] = abs
	}
	if fs.NArg() == 0 {
		fmt.Fprint(stderr, "compose-check: no compose file given\n\n"+usage)
		return 2
	}

	files := make([]*composeFile, 0, fs.NArg())
	for _, arg := range fs.Args() {
		abs, err := filepath.Abs(arg)
		if err != nil {
			fmt.Fprintf(stderr, "compose-check: %s: %v\n", arg, err)
			return 2
		}
		f := &composeFile{arg: arg, abs: abs}
		f.includes, f.readErr = readIncludes(abs, s)
		files = append(files, f)
	}
	// Who includes whom, among the files given.
	includedBy := map[string][]*composeFile{}
	for _, f := range files {
		for _, inc := range f.includes {
			includedBy[inc.paths[0]] = append(includedBy[inc.paths[0]], f)
		}
	}

	ctx := context.Background()
	failed := false
	report := func(f *composeFile, line string, err error) {
		if err != nil {
			failed = true
			fmt.Fprintf(stdout, "error %s: %s\n", f.arg, describe(err))
			return
		}
		fmt.Fprintf(stdout, "ok %s: %s\n", f.arg, line)
	}
	for _, f := range files {
		// The loader's warnings (an obsolete attribute, ...) name the file they are about.
		logrus.SetOutput(prefixWriter{w: stderr, prefix: "warning " + f.arg + ": "})
		logrus.SetFormatter(messageOnly{})
		if f.readErr != nil {
			report(f, "", f.readErr)
			continue
		}
		includers := includedBy[f.abs]
		if len(includers) == 0 {
			env, err := environment(filepath.Dir(f.abs), s)
			if err != nil {
				report(f, "", err)
				continue
			}
			p, err := load(ctx, []string{f.abs}, filepath.Dir(f.abs), env, true)
			if err != nil {
				report(f, "", err)
				continue
			}
			report(f, plural(len(p.Services), "service"), nil)
			continue
		}
		line, err := checkIncluded(ctx, f, includers, s)
		report(f, line, err)
	}
	if failed {
		return 1
	}
	return 0
}

// checkIncluded loads f as each file that includes it does, then checks its depends_on against
// the services of that including project.
func checkIncluded(ctx context.Context, f *composeFile, includers []*composeFile, s settings) (string, error) {
	var services int
	names := make([]string, 0, len(includers))
	for _, parent := range includers {
		names = append(names, parent.arg)
		for _, inc := range parent.includes {
			if inc.paths[0] != f.abs {
				continue
			}
			p, err := loadIncluded(ctx, parent, inc, s)
			if err != nil {
				return "", err
			}
			services = len(p.Services)
			if err := dependenciesDefined(ctx, p, parent, s); err != nil {
				return "", err
			}
		}
	}
	return fmt.Sprintf("%s (included by %s)", plural(services, "service"), strings.Join(names, ", ")), nil
}

// loadIncluded loads one include of parent as Compose does: its own model, its own project
// directory, the including project's environment with the include's env_file (or the .env of
// its folder) under it, no consistency check.
func loadIncluded(ctx context.Context, parent *composeFile, inc include, s settings) (*types.Project, error) {
	env, err := environment(filepath.Dir(parent.abs), s)
	if err != nil {
		return nil, err
	}
	fromFiles, err := dotenv.GetEnvFromFile(env, inc.envFiles)
	if err != nil {
		return nil, err
	}
	return load(ctx, inc.paths, inc.projectDir, env.Clone().Merge(fromFiles), false)
}

// dependenciesDefined: what the consistency check of the including project says about the
// depends_on of the services of one included file.
func dependenciesDefined(ctx context.Context, part *types.Project, parent *composeFile, s settings) error {
	enabled, disabled, complete := parentServices(ctx, parent, s)
	var unchecked error
	for _, name := range part.ServiceNames() {
		deps := part.Services[name].DependsOn
		for _, dep := range slices.Sorted(keys(deps)) {
			if _, ok := part.Services[dep]; ok || enabled[dep] || (disabled[dep] && !deps[dep].Required) {
				continue
			}
			if !complete {
				// Perhaps defined in the file that does not load: an undefined one elsewhere
				// is the better news.
				if unchecked == nil {
					unchecked = fmt.Errorf("service %q depends on %q, not checked: %s, which includes this file, does not load (see its line)", name, dep, parent.arg)
				}
				continue
			}
			return fmt.Errorf("service %q depends on undefined service %q (no file of %s defines it)", name, dep, parent.arg)
		}
	}
	return unchecked
}

// parentServices are the services of the project of parent. When it does not load as a whole,
// they are gathered from its files one by one; complete is false when one of them does not load.
func parentServices(ctx context.Context, parent *composeFile, s settings) (enabled, disabled map[string]bool, complete bool) {
	enabled, disabled = map[string]bool{}, map[string]bool{}
	add := func(p *types.Project) {
		for _, n := range p.ServiceNames() {
			enabled[n] = true
		}
		for _, n := range p.DisabledServiceNames() {
			disabled[n] = true
		}
	}
	env, err := environment(filepath.Dir(parent.abs), s)
	if err != nil {
		return enabled, disabled, false
	}
	if whole, err := load(ctx, []string{parent.abs}, filepath.Dir(parent.abs), env, false); err == nil {
		add(whole)
		return enabled, disabled, true
	}
	complete = true
	for _, inc := range parent.includes {
		p, err := loadIncluded(ctx, parent, inc, s)
		if err != nil {
			complete = false
			continue
		}
		add(p)
	}
	// The services parent defines itself, besides its includes.
	options, err := cli.NewProjectOptions([]string{parent.abs},
		cli.WithWorkingDirectory(filepath.Dir(parent.abs)),
		cli.WithEnv(env.Values()),
		cli.WithLoadOptions(func(o *loader.Options) { o.SkipInclude = true; o.SkipConsistencyCheck = true }),
	)
	if err != nil {
		return enabled, disabled, false
	}
	own, err := options.LoadProject(ctx)
	if err != nil {
		return enabled, disabled, false
	}
	add(own)
	return enabled, disabled, complete
}

func keys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// load runs the project loader of compose-go as `docker compose --project-directory DIR -f ...`
// does, with env as the variables interpolation sees. consistency false is how Compose loads an
// included file.
func load(ctx context.Context, paths []string, dir string, env types.Mapping, consistency bool) (*types.Project, error) {
	options, err := cli.NewProjectOptions(paths,
		cli.WithWorkingDirectory(dir),
		cli.WithEnv(env.Values()),
		cli.WithInterpolation(true),
		cli.WithNormalization(true),
		cli.WithResolvedPaths(true),
		cli.WithConsistency(consistency),
	)
	if err != nil {
		return nil, err
	}
	return options.LoadProject(ctx)
}

// environment is what interpolation sees in a project whose folder is dir: the variables given,
// the process environment with --os-env, then the env files given or else dir/.env, as Compose.
func environment(dir string, s settings) (types.Mapping, error) {
	opts := []cli.ProjectOptionsFn{cli.WithWorkingDirectory(dir), cli.WithEnv(s.env)}
	if s.osEnv {
		opts = append(opts, cli.WithOsEnv)
	}
	opts = append(opts, cli.WithEnvFiles(s.envFiles...), cli.WithDotEnv)
	o, err := cli.NewProjectOptions(nil, opts...)
	if err != nil {
		return nil, err
	}
	return o.Environment, nil
}

// readIncludes reads the `include:` entries of a compose file (short and long syntax), with the
// variables given interpolated, their paths made absolute as Compose resolves them.
func readIncludes(file string, s settings) ([]include, error) {
	raw, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var doc struct {
		Include []yaml.Node `yaml:"include"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return nil, err
	}
	env, err := environment(filepath.Dir(file), s)
	if err != nil {
		return nil, err
	}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	dir := filepath.Dir(file)
	abs := func(p string) (string, error) {
		p, err := template.Substitute(p, lookup)
		if err != nil || filepath.IsAbs(p) {
			return p, err
		}
		return filepath.Join(dir, p), nil
	}
	var out []include
	for _, node := range doc.Include {
		var entry struct {
			Path             stringOrList `yaml:"path"`
			ProjectDirectory string       `yaml:"project_directory"`
			EnvFile          stringOrList `yaml:"env_file"`
		}
		if node.Kind == yaml.ScalarNode {
			entry.Path = stringOrList{node.Value}
		} else if err := node.Decode(&entry); err != nil {
			// The loader reports a malformed include: best left to it.
			continue
		}
		if len(entry.Path) == 0 {
			continue
		}
		var inc include
		for _, p := range entry.Path {
			a, err := abs(p)
			if err != nil {
				return nil, err
			}
			inc.paths = append(inc.paths, a)
		}
		inc.projectDir = filepath.Dir(inc.paths[0])
		if entry.ProjectDirectory != "" {
			if inc.projectDir, err = abs(entry.ProjectDirectory); err != nil {
				return nil, err
			}
		}
		for _, e := range entry.EnvFile {
			a, err := abs(e)
			if err != nil {
				return nil, err
			}
			inc.envFiles = append(inc.envFiles, a)
		}
		if len(entry.EnvFile) == 0 {
			if st, err := os.Stat(filepath.Join(inc.projectDir, ".env")); err == nil && !st.IsDir() {
				inc.envFiles = []string{filepath.Join(inc.projectDir, ".env")}
			}
		}
		out = append(out, inc)
	}
	return out, nil
}

type stringOrList []string

func (l *stringOrList) UnmarshalYAML(node *yaml.Node) error {
	if node.Kind == yaml.ScalarNode {
		*l = []string{node.Value}
		return nil
	}
	var list []string
	if err := node.Decode(&list); err != nil {
		return err
	}
	*l = list
	return nil
}

// describe puts the loader's error on one line. The schema reports a key it does not know as
// "services.NAME.KEY false schema" (the service allows no other properties): say so.
func describe(err error) string {
	lines := strings.Split(strings.TrimSpace(err.Error()), "\n")
	for i, line := range lines {
		if strings.HasSuffix(line, " false schema") {
			lines[i] = line + " (a key that the Compose specification does not define there)"
		}
	}
	return strings.Join(lines, "; ")
}

func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// messageOnly formats a log entry of the loader as its message alone.
type messageOnly struct{}

func (messageOnly) Format(e *logrus.Entry) ([]byte, error) { return []byte(e.Message + "\n"), nil }

type prefixWriter struct {
	w      io.Writer
	prefix string
}

func (p prefixWriter) Write(b []byte) (int, error) {
	for _, line := range strings.SplitAfter(string(b), "\n") {
		if line == "" {
			continue
		}
		if _, err := io.WriteString(p.w, p.prefix+line); err != nil {
			return 0, err
		}
	}
	return len(b), nil
}
