package troupe_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// The import rules of DESIGN.md ("Packages"), as data; see also
// docs/architecture.md. Adding a package to
// the module means adding one line to components (and, for a new
// third-party dependency with a rule of its own, one line to thirdParties);
// a package of ours that no line covers fails the test.

// component is one of our packages together with all its subpackages.
type component struct {
	path string // module-relative; "." is the module's root package alone
	// layer orders the components: a component may import its own
	// packages and those of components of lower layers, never those of
	// its own layer (peers) or of higher ones.
	layer int
	// stdlibOnly: besides its own packages, only the standard library.
	stdlibOnly bool
	// only, when set, lists the only other components it may import,
	// whatever their layer.
	only []string
}

var components = []component{
	// Test helpers that embed a NATS server for the JetStream connector's
	// tests and those of pipelines that use it. Listed before operators,
	// whose subpackage it is, so that it gets this rule: above testkit,
	// which it uses, so that only tests may import it.
	{path: "operators/jetstream/jstest", layer: 8},
	{path: "watermark", layer: 0, stdlibOnly: true},
	{path: "mailbox", layer: 0, stdlibOnly: true},
	{path: "barrier", layer: 0, stdlibOnly: true},
	{path: "persistence", layer: 1},
	{path: "operators", layer: 2},
	{path: "actors", layer: 3},
	{path: "cluster", layer: 4},
	// Examples are pipelines written as a user would, with the packages a
	// user's pipeline needs (watermark strategies; persistence for the
	// state types of operators of one's own); only the node command (which
	// registers them) may import them.
	{path: "examples", layer: 5, only: []string{"operators", "actors", "cluster", "watermark", "persistence"}},
	{path: "cmd/node", layer: 6},
	// Above everything: testkit may import every package, and no package
	// may import it (tests may: their imports are not checked here).
	{path: "testkit", layer: 7},
	// The root package holds only tests (this file): no package imports it.
	{path: ".", layer: 8, stdlibOnly: true},
}

// thirdParty restricts which of our packages may use a dependency.
type thirdParty struct {
	prefix string // import path, or prefix ending in "/", of the dependency
	// mayImport says which of our packages may import it directly.
	mayImport rule
	// notEvenVia lists components that must not depend on it at all, not
	// even through other modules (checked on the transitive closure).
	notEvenVia []string
}

var thirdParties = []thirdParty{
	// Examples too: a user's actor operator (actors.FromActor,
	// FromKeyedActor) is a Proto.Actor actor, which its pipeline's code
	// writes (examples/fraud's detector).
	{"github.com/asynkron/protoactor-go", within("actors", "cluster", "testkit", "examples"),
		[]string{"watermark", "mailbox", "barrier", "persistence", "operators"}},
	{"go.etcd.io/bbolt", within("persistence"), nil},
	{"github.com/hashicorp/memberlist", within("cluster"), nil},
	// NATS only in the connector and checkpoint-storage subpackages that
	// need it (DESIGN.md); the JetStream connectors live in
	// operators/jetstream.
	{"github.com/nats-io/", anyOf(pathContains("/nats"), below("persistence", "cluster"), within("operators/jetstream")), nil},
	// The server itself (16 MB of binary) only where a node embeds it and
	// in the test helpers; the connectors and the pipelines built on them
	// do without it, even indirectly.
	{"github.com/nats-io/nats-server/", within("operators/jetstream/jstest", "cluster", "cmd/node"),
		[]string{"operators", "examples"}},
	// client_golang in one package, which turns the runtime's samples
	// into a node's /metrics (Proto.Actor's OpenTelemetry exporter pulls
	// it in indirectly; only direct imports are ruled).
	{"github.com/prometheus/", within("cmd/node/metrics"), nil},
}

// rule is a predicate on a module-relative package path, with a
// description for error messages.
type rule struct {
	match func(rel string) bool
	desc  string
}

// within matches the given components and their subpackages.
func within(paths ...string) rule {
	return rule{func(rel string) bool {
		return slices.ContainsFunc(paths, func(p string) bool { return inPath(rel, p) })
	}, strings.Join(paths, ", ") + " (and subpackages)"}
}

// below matches the strict subpackages of the given components.
func below(paths ...string) rule {
	return rule{func(rel string) bool {
		return slices.ContainsFunc(paths, func(p string) bool { return strings.HasPrefix(rel, p+"/") })
	}, "subpackages of " + strings.Join(paths, ", ")}
}

// pathContains matches packages whose import path contains s.
func pathContains(s string) rule {
	return rule{func(rel string) bool { return strings.Contains("/"+rel, s) }, "packages whose path contains " + s}
}

func anyOf(rules ...rule) rule {
	descs := make([]string, len(rules))
	for i, r := range rules {
		descs[i] = r.desc
	}
	return rule{func(rel string) bool {
		return slices.ContainsFunc(rules, func(r rule) bool { return r.match(rel) })
	}, strings.Join(descs, " or ")}
}

// inPath reports whether rel is the package p or one of its subpackages.
func inPath(rel, p string) bool {
	if p == "." {
		return rel == ""
	}
	return rel == p || strings.HasPrefix(rel, p+"/")
}

// underPrefix reports whether an import path belongs to a third-party
// prefix: the module itself and its packages, or anything under a prefix
// that ends in "/".
func underPrefix(path, prefix string) bool {
	if strings.HasSuffix(prefix, "/") {
		return strings.HasPrefix(path, prefix)
	}
	return path == prefix || strings.HasPrefix(path, prefix+"/")
}

// goPackage holds the fields of `go list -json` that the rules need.
// Imports are those of the package's non-test files only.
type goPackage struct {
	ImportPath string
	Standard   bool
	Imports    []string
	Deps       []string
	Error      *struct{ Err string }
}

// violation is one broken rule, with the import edge that breaks it.
type violation struct {
	from, to string // import paths; to is empty for a package without rule
	why      string
}

func (v violation) String() string {
	if v.to == "" {
		return fmt.Sprintf("%s: %s", v.from, v.why)
	}
	return fmt.Sprintf("%s -> %s: %s", v.from, v.to, v.why)
}

// checkImports applies the rules to the packages of module found in pkgs
// (the output of `go list -deps`, which also holds every dependency) and
// returns every violation, sorted.
func checkImports(module string, pkgs []goPackage) []violation {
	c := checker{module: module, byPath: make(map[string]*goPackage, len(pkgs))}
	for i := range pkgs {
		c.byPath[pkgs[i].ImportPath] = &pkgs[i]
	}
	for i := range pkgs {
		p := &pkgs[i]
		if rel, ok := c.rel(p.ImportPath); ok {
			c.checkPackage(p, rel)
		}
	}
	slices.SortFunc(c.out, func(a, b violation) int {
		return strings.Compare(a.String(), b.String())
	})
	return c.out
}

type checker struct {
	module string
	byPath map[string]*goPackage
	out    []violation
}

// rel returns the module-relative path of one of our packages.
func (c *checker) rel(path string) (string, bool) {
	if path == c.module {
		return "", true
	}
	rel, ok := strings.CutPrefix(path, c.module+"/")
	return rel, ok
}

func (c *checker) report(from, to, why string, args ...any) {
	c.out = append(c.out, violation{from: from, to: to, why: fmt.Sprintf(why, args...)})
}

func componentOf(rel string) *component {
	for i := range components {
		if inPath(rel, components[i].path) {
			return &components[i]
		}
	}
	return nil
}

func (c *checker) checkPackage(p *goPackage, rel string) {
	comp := componentOf(rel)
	if comp == nil {
		c.report(p.ImportPath, "", "no import rule covers this package: add it to components in deps_test.go")
		return
	}
	for _, imp := range p.Imports {
		if irel, ours := c.rel(imp); ours {
			c.checkOurs(p.ImportPath, comp, imp, irel)
			continue
		}
		if dep := c.byPath[imp]; (dep != nil && dep.Standard) || imp == "C" {
			continue
		}
		if comp.stdlibOnly {
			c.report(p.ImportPath, imp, "%s may import the standard library only", comp.path)
			continue
		}
		for _, tp := range thirdParties {
			if underPrefix(imp, tp.prefix) && !tp.mayImport.match(rel) {
				c.report(p.ImportPath, imp, "%s may be imported only by %s", tp.prefix, tp.mayImport.desc)
			}
		}
	}
	c.checkTransitive(p, comp)
}

// checkOurs checks an import of one of our packages against the layers.
func (c *checker) checkOurs(from string, comp *component, imp, irel string) {
	target := componentOf(irel)
	if target == nil || target == comp {
		return // unknown packages are reported on their own
	}
	allowed := allowedFor(comp)
	switch {
	case slices.Contains(allowed, target.path):
	case len(allowed) == 0:
		c.report(from, imp, "%s may import no other package of this module", comp.path)
	default:
		c.report(from, imp, "of this module, %s may import only its own packages and %s",
			comp.path, strings.Join(allowed, ", "))
	}
}

// allowedFor lists the other components that comp may import.
func allowedFor(comp *component) []string {
	if comp.stdlibOnly {
		return nil
	}
	if comp.only != nil {
		return comp.only
	}
	var out []string
	for _, other := range components {
		if other.layer < comp.layer {
			out = append(out, other.path)
		}
	}
	return out
}

// checkTransitive finds forbidden dependencies in the closure (Deps) of a
// package and reports each import through which it gets one, with the
// chain. Direct imports are left to checkPackage, and imports of our
// packages that are under the same rule are reported at those packages.
func (c *checker) checkTransitive(p *goPackage, comp *component) {
	for _, tp := range thirdParties {
		if !slices.Contains(tp.notEvenVia, comp.path) ||
			!slices.ContainsFunc(p.Deps, func(d string) bool { return underPrefix(d, tp.prefix) }) {
			continue
		}
		for _, imp := range p.Imports {
			if underPrefix(imp, tp.prefix) {
				continue
			}
			if irel, ours := c.rel(imp); ours {
				if t := componentOf(irel); t != nil && slices.Contains(tp.notEvenVia, t.path) {
					continue
				}
			}
			if chain := c.pathTo(imp, tp.prefix); chain != nil {
				c.report(p.ImportPath, imp, "%s must not depend on %s, even indirectly: %s -> %s",
					comp.path, tp.prefix, p.ImportPath, strings.Join(chain, " -> "))
			}
		}
	}
}

// pathTo returns a shortest import chain from a package (included) to one
// under prefix, or nil.
func (c *checker) pathTo(from, prefix string) []string {
	prev := map[string]string{from: ""}
	queue := []string{from}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		if underPrefix(cur, prefix) {
			var chain []string
			for at := cur; at != ""; at = prev[at] {
				chain = append(chain, at)
			}
			slices.Reverse(chain)
			return chain
		}
		if pkg := c.byPath[cur]; pkg != nil {
			for _, next := range pkg.Imports {
				if _, seen := prev[next]; !seen {
					prev[next] = cur
					queue = append(queue, next)
				}
			}
		}
	}
	return nil
}

// goList runs `go list -deps -json ./...` in the module root and returns
// the module path and every package listed.
func goList(t *testing.T) (string, []goPackage) {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go is not on PATH")
	}
	cmd := exec.Command(goBin, "list", "-e", "-deps",
		"-json=ImportPath,Standard,Imports,Deps,Module,Error", "./...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.Bytes())
	}
	var module string
	var pkgs []goPackage
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p struct {
			goPackage
			Module *struct {
				Path string
				Main bool
			}
		}
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("decode go list output: %v", err)
		}
		if p.Module != nil && p.Module.Main {
			module = p.Module.Path
			if p.Error != nil {
				// Its imports may be incomplete: the rules cannot vouch for it.
				t.Errorf("%s: cannot be loaded: %s", p.ImportPath, p.Error.Err)
			}
		}
		pkgs = append(pkgs, p.goPackage)
	}
	if module == "" {
		t.Fatal("go list found no package of the main module")
	}
	return module, pkgs
}

// TestImportDirection enforces the dependency rules of DESIGN.md on the
// current tree.
func TestImportDirection(t *testing.T) {
	module, pkgs := goList(t)
	// Guard against a vacuous pass (an empty or foreign listing).
	for _, want := range []string{"mailbox", "operators", "actors"} {
		if !slices.ContainsFunc(pkgs, func(p goPackage) bool { return p.ImportPath == module+"/"+want }) {
			t.Fatalf("go list did not list %s/%s", module, want)
		}
	}
	for _, v := range checkImports(module, pkgs) {
		t.Error(v)
	}

	t.Run("checker catches violations", func(t *testing.T) {
		got := checkImports("example.com/m", fakeTree())
		var edges []string
		for _, v := range got {
			edges = append(edges, v.from+" -> "+v.to)
		}
		slices.Sort(edges)
		want := []string{
			"example.com/m/actors -> example.com/m/testkit",
			"example.com/m/actors -> go.etcd.io/bbolt",
			"example.com/m/cluster -> example.com/m/examples/wordcount",
			"example.com/m/cmd/node -> github.com/hashicorp/memberlist",                    // only cluster may use it
			"example.com/m/cmd/node/cli -> github.com/prometheus/client_golang/prometheus", // only cmd/node/metrics
			"example.com/m/examples/enrich -> example.com/m/operators/jetstream/jstest",    // test helpers
			"example.com/m/examples/enrich -> example.com/m/operators/jetstream/jstest",    // and the server through them
			"example.com/m/examples/wordcount -> example.com/m/mailbox",
			"example.com/m/internal/x -> ",
			"example.com/m/mailbox -> example.com/m/watermark",
			"example.com/m/mailbox -> golang.org/x/exp/slices",
			"example.com/m/operators -> example.com/m/actors", // upward
			"example.com/m/operators -> example.com/m/actors", // and Proto.Actor through it
			"example.com/m/operators -> example.com/x/actorlib",
			"example.com/m/operators/jetstream -> github.com/nats-io/nats-server/v2/server",
			"example.com/m/persistence -> github.com/nats-io/nats.go",
		}
		if !slices.Equal(edges, want) {
			t.Errorf("violations found:\n%s\nwant edges:\n%s", join(got), strings.Join(want, "\n"))
		}
	})
}

// fakeTree is a module whose packages break the rules in known ways, next
// to imports that the rules allow.
func fakeTree() []goPackage {
	const (
		m          = "example.com/m/"
		bbolt      = "go.etcd.io/bbolt"
		nats       = "github.com/nats-io/nats.go"
		natsServer = "github.com/nats-io/nats-server/v2/server"
		memberlist = "github.com/hashicorp/memberlist"
		protoActor = "github.com/asynkron/protoactor-go/actor"
		prom       = "github.com/prometheus/client_golang/prometheus"
		actorLib   = "example.com/x/actorlib"
	)
	imports := map[string][]string{
		m + "watermark":                  {"fmt"},
		m + "mailbox":                    {"sync", m + "watermark", "golang.org/x/exp/slices"}, // a peer; not stdlib
		m + "mailbox/internal/q":         {"sync"},
		m + "persistence":                {m + "mailbox", bbolt, nats}, // NATS: subpackages only
		m + "persistence/natsjs":         {m + "persistence", nats},
		m + "operators":                  {m + "persistence", m + "actors", actorLib},                   // upward; Proto.Actor via a library
		m + "actors":                     {m + "operators", protoActor, m + "testkit", bbolt},           // testkit, bbolt
		m + "cluster":                    {m + "actors", memberlist, m + "examples/wordcount"},          // examples
		m + "examples/wordcount":         {m + "operators", m + "actors", m + "mailbox"},                // mailbox
		m + "examples/enrich":            {m + "operators/jetstream", m + "operators/jetstream/jstest"}, // test helpers
		m + "operators/jetstream":        {m + "operators", nats, natsServer},                           // the server
		m + "operators/jetstream/jstest": {natsServer, nats},
		m + "cmd/node":                   {m + "cmd/node/cli", m + "examples/wordcount", m + "cluster", memberlist},
		m + "cmd/node/cli":               {m + "actors", prom},
		m + "cmd/node/metrics":           {m + "actors", prom},
		m + "testkit":                    {m + "cluster", m + "mailbox", protoActor},
		m + "internal/x":                 nil, // no rule

		"fmt": nil, "sync": nil, "golang.org/x/exp/slices": nil,
		bbolt: nil, nats: nil, natsServer: nil, memberlist: nil, prom: nil,
		actorLib:   {protoActor},
		protoActor: {"sync"},
	}
	var pkgs []goPackage
	for path, imps := range imports {
		pkgs = append(pkgs, goPackage{ImportPath: path, Standard: !strings.Contains(path, "."), Imports: imps})
	}
	// Deps is the transitive closure of Imports, as go list reports it.
	for i := range pkgs {
		seen := map[string]bool{}
		var visit func(string)
		visit = func(p string) {
			for _, d := range imports[p] {
				if !seen[d] {
					seen[d] = true
					visit(d)
				}
			}
		}
		visit(pkgs[i].ImportPath)
		for d := range seen {
			pkgs[i].Deps = append(pkgs[i].Deps, d)
		}
		slices.Sort(pkgs[i].Deps)
	}
	return pkgs
}

func join(vs []violation) string {
	var b strings.Builder
	for _, v := range vs {
		b.WriteString(v.String() + "\n")
	}
	return b.String()
}
