package config

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// unsupported lists, per struct, the fields Skaffold has that hoist does not
// support yet. They get a "not supported yet" error instead of "unknown".
var unsupported = map[reflect.Type][]string{
	reflect.TypeFor[Artifact](): {"dockerfileInline"},
	reflect.TypeFor[manifests](): {"kpt", "transform",
		"validate", "remoteManifests"},
	reflect.TypeFor[Deploy]():        {"kpt", "cloudrun"},
	reflect.TypeFor[KubectlDeploy](): {"remoteManifests"},
}

// decoder turns a yaml.Node tree into Go values, strictly, and remembers the
// position of every field it set so that later checks can point at it.
type decoder struct {
	file string
	pos  map[string]*yaml.Node
}

func (d *decoder) errAt(n *yaml.Node, path, format string, args ...any) *Error {
	return &Error{File: d.file, Line: n.Line, Column: n.Column, Path: path,
		Message: fmt.Sprintf(format, args...)}
}

// at is the decoder's locator: the Error is at path's node or, when the
// document does not set path, at the nearest enclosing node it sets, whose
// path it then names.
func (d *decoder) at(path, format string, args ...any) *Error {
	n := d.pos[path]
	for n == nil && path != "" {
		path = path[:max(strings.LastIndexAny(path, ".["), 0)]
		n = d.pos[path]
	}
	if n == nil {
		return &Error{File: d.file, Line: 1, Column: 1, Message: fmt.Sprintf(format, args...)}
	}
	return d.errAt(n, path, format, args...)
}

func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) error {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	d.pos[path] = n
	switch v.Type() {
	case reflect.TypeFor[Raw]():
		v.Set(reflect.ValueOf(Raw{Node: n}))
		return nil
	case reflect.TypeFor[FlatMap]():
		if n.Kind != yaml.MappingNode && !isNull(n) {
			return d.errAt(n, path, "expected a mapping of names to values, got %s", describe(n))
		}
		m, bad := FlatMap(nil).flatten("", n)
		if bad != nil {
			return d.errAt(bad, path, "expected a value or a mapping, got %s", describe(bad))
		}
		v.Set(reflect.ValueOf(m))
		return nil
	case reflect.TypeFor[IntOrString]():
		if n.Kind != yaml.ScalarNode {
			return d.errAt(n, path, "expected a port number or name, got %s", describe(n))
		}
		p := IntOrString{Str: n.Value}
		if i, err := strconv.Atoi(n.Value); err == nil && n.ShortTag() == "!!int" {
			p = IntOrString{Int: i}
		}
		v.Set(reflect.ValueOf(p))
		return nil
	}
	if isNull(n) {
		// "docker:" with nothing after it means an empty docker section.
		if v.Kind() == reflect.Pointer && v.Type().Elem().Kind() == reflect.Struct {
			v.Set(reflect.New(v.Type().Elem()))
		}
		return nil
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		return d.decode(n, v.Elem(), path)
	case reflect.Struct:
		return d.decodeStruct(n, v, path)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return d.errAt(n, path, "expected a list, got %s", describe(n))
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, item := range n.Content {
			if err := d.decode(item, s.Index(i), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
		v.Set(s)
		return nil
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return d.errAt(n, path, "expected a mapping of names to values, got %s", describe(n))
		}
		m := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
		for i := 0; i < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			if _, dup := d.pos[path+"."+k.Value]; dup {
				return d.errAt(k, path, "%q is set twice", k.Value)
			}
			ev := reflect.New(v.Type().Elem()).Elem()
			if err := d.decode(val, ev, path+"."+k.Value); err != nil {
				return err
			}
			m.SetMapIndex(reflect.ValueOf(k.Value), ev)
		}
		v.Set(m)
		return nil
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			return d.errAt(n, path, "expected a string, got %s", describe(n))
		}
		v.SetString(n.Value)
		return nil
	case reflect.Bool:
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" {
			return d.errAt(n, path, "expected true or false, got %s", describe(n))
		}
		b, _ := strconv.ParseBool(strings.ToLower(n.Value))
		v.SetBool(b)
		return nil
	case reflect.Int:
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
			return d.errAt(n, path, "expected a whole number, got %s", describe(n))
		}
		i, err := strconv.ParseInt(n.Value, 0, 64)
		if err != nil {
			return d.errAt(n, path, "expected a whole number, got %s", describe(n))
		}
		v.SetInt(i)
		return nil
	}
	return fmt.Errorf("config: no decoder for %s at %s", v.Type(), path)
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string) error {
	if n.Kind != yaml.MappingNode {
		return d.errAt(n, path, "expected a mapping, got %s", describe(n))
	}
	t := v.Type()
	fields := yamlFields(t)
	names := make([]string, 0, len(fields))
	for name := range fields {
		names = append(names, name)
	}
	sort.Strings(names)
	seen := map[string]bool{}
	for i := 0; i < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		fieldPath := join(path, k.Value)
		if seen[k.Value] {
			return d.errAt(k, path, "field %q is set twice", k.Value)
		}
		seen[k.Value] = true
		f, ok := fields[k.Value]
		if !ok {
			return d.unknownField(t, k, path, names)
		}
		if err := d.decode(val, v.FieldByIndex(f.Index), fieldPath); err != nil {
			return err
		}
	}
	for _, name := range names {
		f := fields[name]
		if f.Tag.Get("hoist") == "required" && !seen[name] {
			e := d.errAt(n, path, "missing required field %q", name)
			if path == "" {
				e.Message = fmt.Sprintf("missing required top-level field %q", name)
			}
			return e
		}
	}
	return nil
}

func (d *decoder) unknownField(t reflect.Type, k *yaml.Node, path string, names []string) error {
	for _, u := range unsupported[t] {
		if u == k.Value {
			e := d.errAt(k, path, "%q is a Skaffold field that hoist does not support yet", k.Value)
			e.Unsupported = true
			e.Hint = "remove it, or use Skaffold for this config"
			return e
		}
	}
	where := path
	if where == "" {
		where = "the top level"
	}
	e := d.errAt(k, path, "unknown field %q in %s", k.Value, where)
	if m := closest(k.Value, names); m != "" {
		e.Hint = fmt.Sprintf("did you mean %q?", m)
	} else {
		sort.Strings(names)
		e.Hint = "valid fields are " + strings.Join(names, ", ")
	}
	return e
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	switch n.ShortTag() {
	case "!!str":
		return fmt.Sprintf("the string %q", n.Value)
	case "!!int", "!!float":
		return fmt.Sprintf("the number %s", n.Value)
	case "!!bool":
		return fmt.Sprintf("the boolean %s", n.Value)
	}
	return fmt.Sprintf("%q", n.Value)
}

// closest returns the name in names nearest to s, when it is near enough to
// be what was meant.
func closest(s string, names []string) string {
	best, bestDist := "", len(s)
	for _, n := range names {
		if strings.EqualFold(n, s) {
			return n
		}
		if d := levenshtein(strings.ToLower(s), strings.ToLower(n)); d < bestDist {
			best, bestDist = n, d
		}
	}
	if bestDist <= max(2, len(s)/3) {
		return best
	}
	return ""
}

func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
