package cli

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
)

// enum is the one description of an enum-like flag: the values it takes,
// in the order help lists them, and how a word becomes a value (the exact
// name, unless parse says more, e.g. an alias). The flag's type in help,
// its error for a bad value and its shell completion all come from the
// same list.
type enum[T ~string] struct {
	allowed []T
	// parse, when set, replaces the exact match: it may accept aliases
	// and word its own error.
	parse func(string) (T, error)
}

func newEnum[T ~string](allowed ...T) enum[T] { return enum[T]{allowed: allowed} }

// typeName is the flag's type in help: gateway|tunnel|access.
func (e enum[T]) typeName() string {
	s := make([]string, len(e.allowed))
	for i, a := range e.allowed {
		s[i] = string(a)
	}
	return strings.Join(s, "|")
}

// list is the valid values in prose: "gateway, tunnel or access".
func (e enum[T]) list() string {
	s := make([]string, len(e.allowed))
	for i, a := range e.allowed {
		s[i] = string(a)
	}
	if len(s) < 2 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
}

func (e enum[T]) parseWord(w string) (T, error) {
	if e.parse != nil {
		return e.parse(w)
	}
	for _, a := range e.allowed {
		if string(a) == w {
			return a, nil
		}
	}
	return "", fmt.Errorf("want %s", e.list())
}

// complete is the shell completion of the flag's values.
func (e enum[T]) complete(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	s := make([]string, len(e.allowed))
	for i, a := range e.allowed {
		s[i] = string(a)
	}
	return s, cobra.ShellCompDirectiveNoFileComp
}

// enumValue is a pflag.Value holding one of an enum's values.
type enumValue[T ~string] struct {
	enum[T]
	p *T
}

func (v *enumValue[T]) String() string { return string(*v.p) }
func (v *enumValue[T]) Type() string   { return v.typeName() }
func (v *enumValue[T]) Set(s string) error {
	x, err := v.parseWord(s)
	if err != nil {
		return err
	}
	*v.p = x
	return nil
}

// enumVar defines the flag name on cmd, holding one of e's values in p
// (starting at def), with its completion.
func enumVar[T ~string](cmd *cobra.Command, p *T, name string, def T, e enum[T], usage string) {
	*p = def
	cmd.Flags().Var(&enumValue[T]{enum: e, p: p}, name, usage)
	_ = cmd.RegisterFlagCompletionFunc(name, e.complete)
}

// enumSliceValue is a pflag.Value holding a list of an enum's values,
// comma-separated or repeated.
type enumSliceValue[T ~string] struct {
	enum[T]
	p   *[]T
	typ string
}

func (v *enumSliceValue[T]) String() string {
	s := make([]string, len(*v.p))
	for i, x := range *v.p {
		s[i] = string(x)
	}
	return strings.Join(s, ",")
}
func (v *enumSliceValue[T]) Type() string { return v.typ }
func (v *enumSliceValue[T]) Set(s string) error {
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		x, err := v.parseWord(part)
		if err != nil {
			return err
		}
		*v.p = append(*v.p, x)
	}
	return nil
}

// enumSliceVar defines a list-of-enum flag; typ names its values in help.
func enumSliceVar[T ~string](cmd *cobra.Command, p *[]T, name, typ string, e enum[T], usage string) {
	cmd.Flags().Var(&enumSliceValue[T]{enum: e, p: p, typ: typ}, name, usage)
	_ = cmd.RegisterFlagCompletionFunc(name, e.complete)
}

// optionalInt is an int flag that tells "not given" from 0.
type optionalInt struct {
	v   int
	set bool
}

func (o *optionalInt) String() string { return strconv.Itoa(o.v) }
func (o *optionalInt) Type() string   { return "int" }
func (o *optionalInt) Set(s string) error {
	n, err := strconv.ParseInt(s, 0, 64)
	if err != nil {
		return err
	}
	if int64(int(n)) != n {
		return strconv.ErrRange
	}
	o.v, o.set = int(n), true
	return nil
}

// ptr is the value, or nil when the flag was not given.
func (o optionalInt) ptr() *int {
	if !o.set {
		return nil
	}
	v := o.v
	return &v
}
