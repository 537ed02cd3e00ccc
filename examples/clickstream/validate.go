package clickstream

import "github.com/troupe-dev/troupe/operators"

// Invalid is a click the validation refused, with why.
type Invalid struct {
	Click  Click  `json:"click"`
	Reason string `json:"reason"`
}

// validator passes on the clicks that have a user, a page and a time, and
// sends the others to the invalid side output. It counts what it checked
// per subtask and reports it when the subtask ends: Open and Close of a
// function with a lifecycle.
type validator struct {
	rc              *operators.RuntimeContext
	checked, failed int
}

func newValidator() *validator { return &validator{} }

// Open keeps the subtask's context, for its logger and identity.
func (v *validator) Open(rc *operators.RuntimeContext) error {
	v.rc = rc
	return nil
}

// ProcessElement checks one click.
func (v *validator) ProcessElement(ctx *operators.ProcessContext, c Click, out operators.Collector[Click]) error {
	v.checked++
	if reason := invalid(c); reason != "" {
		v.failed++
		ctx.Output(InvalidTag.Of(Invalid{Click: c, Reason: reason}))
		return nil
	}
	out.Collect(c, ctx.Timestamp())
	return nil
}

// Close reports what the subtask checked.
func (v *validator) Close() error {
	if v.rc != nil {
		v.rc.Logger.Info("clicks validated", "operator", v.rc.Operator, "subtask", v.rc.Subtask,
			"checked", v.checked, "invalid", v.failed)
	}
	return nil
}

// invalid says what is wrong with a click; "" if nothing.
func invalid(c Click) string {
	switch {
	case c.User == "":
		return "no user"
	case c.Page == "":
		return "no page"
	case c.At <= 0:
		return "no time"
	case c.Ms < 0:
		return "negative time on page"
	}
	return ""
}
