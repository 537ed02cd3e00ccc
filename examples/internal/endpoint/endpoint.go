package endpoint

import (
	"errors"
	"io/fs"
	"os"

	"github.com/troupe-dev/troupe/actors"
	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/operators/jetstream"
)

// Input checks that parameter name, when set, is a regular file that can
// be read or, if streams, a well-formed nats:// URL.
func Input(ps actors.Params, name string, streams bool) error {
	return check(ps, name, streams, checkReadable)
}

// Output checks that parameter name, when set, is a directory that part
// files can be written into (operators.CheckOutputDir: existing or not
// yet) or, if streams, a well-formed nats:// URL.
func Output(ps actors.Params, name string, streams bool) error {
	return check(ps, name, streams, operators.CheckOutputDir)
}

// check checks a set parameter as a nats:// URL, if streams allows one,
// else with local.
func check(ps actors.Params, name string, streams bool, local func(string) error) error {
	v := ps.String(name)
	var err error
	switch {
	case v == "":
		return nil
	case streams && jetstream.IsURL(v):
		_, err = jetstream.ParseURL(v)
	default:
		err = local(v)
	}
	if err != nil {
		return ps.Invalid(name, err)
	}
	return nil
}

// checkReadable checks path as the file sources will open it, and says
// plainly why it cannot be read. It looks before it opens: opening a named
// pipe would wait for a writer.
func checkReadable(path string) error {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return errors.New("no such file")
	case err != nil:
		return err
	case fi.IsDir():
		return errors.New("is a directory, not a file")
	case !fi.Mode().IsRegular():
		return errors.New("not a regular file")
	}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrPermission) {
		return errors.New("not readable (permission denied)")
	} else if err != nil {
		return err
	}
	return f.Close()
}
