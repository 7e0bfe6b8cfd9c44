package config

import (
	"fmt"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// JSONPatch is one operation of a profile's patches: RFC 6902 JSON Patch
// applied to the YAML document, with RFC 6901 pointers such as
// /build/artifacts/0/docker/dockerfile.
type JSONPatch struct {
	// Op is add, remove, replace (the default), move, copy or test.
	Op   string `yaml:"op,omitempty"`
	Path string `yaml:"path,omitempty" hoist:"required"`
	// From is the source of move and copy.
	From  string `yaml:"from,omitempty"`
	Value *Raw   `yaml:"value,omitempty"`
}

// Raw is a YAML value kept as written, for what hoist reads without a Go
// shape of its own: a patch's value, and the sections of builders and
// deployers hoist does not have.
type Raw struct {
	Node *yaml.Node
}

var patchOps = []string{"add", "remove", "replace", "move", "copy", "test"}

// applyPatch applies p to the document doc (its root mapping). The error
// says what of the path is missing or wrong; the caller locates it.
func applyPatch(doc *yaml.Node, p JSONPatch) error {
	op := p.Op
	if op == "" {
		op = "replace"
	}
	var value *yaml.Node
	if p.Value != nil && p.Value.Node != nil {
		value = clone(p.Value.Node)
	} else {
		value = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}
	}
	switch op {
	case "add":
		return setAt(doc, p.Path, value, true)
	case "replace":
		if _, err := find(doc, p.Path); err != nil {
			return err
		}
		return setAt(doc, p.Path, value, false)
	case "remove":
		_, err := removeAt(doc, p.Path)
		return err
	case "move", "copy":
		if p.From == "" {
			return fmt.Errorf("%s needs from, the pointer to take the value from", op)
		}
		var n *yaml.Node
		var err error
		if op == "move" {
			n, err = removeAt(doc, p.From)
		} else {
			n, err = find(doc, p.From)
			n = clone(n)
		}
		if err != nil {
			return fmt.Errorf("from: %w", err)
		}
		return setAt(doc, p.Path, n, true)
	case "test":
		n, err := find(doc, p.Path)
		if err != nil {
			return err
		}
		if !equalNodes(n, value) {
			return fmt.Errorf("test failed: the value at %s differs", p.Path)
		}
		return nil
	}
	return fmt.Errorf("unknown op %q; use one of %s", op, strings.Join(patchOps, ", "))
}

// tokens splits an RFC 6901 pointer into its unescaped reference tokens.
func tokens(pointer string) ([]string, error) {
	if pointer == "" {
		return nil, nil
	}
	if !strings.HasPrefix(pointer, "/") {
		return nil, fmt.Errorf("path %q must start with /", pointer)
	}
	ts := strings.Split(pointer[1:], "/")
	for i, t := range ts {
		ts[i] = strings.ReplaceAll(strings.ReplaceAll(t, "~1", "/"), "~0", "~")
	}
	return ts, nil
}

// find returns the node at pointer.
func find(doc *yaml.Node, pointer string) (*yaml.Node, error) {
	ts, err := tokens(pointer)
	if err != nil {
		return nil, err
	}
	n := doc
	for i, t := range ts {
		if n, err = child(n, t); err != nil {
			return nil, fmt.Errorf("%s does not exist: %w", "/"+strings.Join(ts[:i+1], "/"), err)
		}
	}
	return n, nil
}

func child(n *yaml.Node, t string) (*yaml.Node, error) {
	switch n.Kind {
	case yaml.MappingNode:
		if _, v := lookup(n, t); v != nil {
			return v, nil
		}
		return nil, fmt.Errorf("no key %q", t)
	case yaml.SequenceNode:
		i, err := index(t, len(n.Content), false)
		if err != nil {
			return nil, err
		}
		return n.Content[i], nil
	}
	return nil, fmt.Errorf("%s is not a mapping or a list", describe(n))
}

// index parses a list index token; with appending, "-" and len are the
// position after the last item.
func index(t string, n int, appending bool) (int, error) {
	if appending && t == "-" {
		return n, nil
	}
	i, err := strconv.Atoi(t)
	limit := n - 1
	if appending {
		limit = n
	}
	if err != nil || i < 0 || i > limit || (t != "0" && strings.HasPrefix(t, "0")) {
		return 0, fmt.Errorf("no item %q in a list of %d", t, n)
	}
	return i, nil
}

// parentOf returns the node that holds pointer's last token, and that token.
func parentOf(doc *yaml.Node, pointer string) (*yaml.Node, string, error) {
	ts, err := tokens(pointer)
	if err != nil {
		return nil, "", err
	}
	if len(ts) == 0 {
		return nil, "", fmt.Errorf("the path must name a field, not the whole document")
	}
	parent, err := find(doc, "/"+strings.Join(escapeAll(ts[:len(ts)-1]), "/"))
	if len(ts) == 1 {
		parent, err = doc, nil
	}
	return parent, ts[len(ts)-1], err
}

func escapeAll(ts []string) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = strings.ReplaceAll(strings.ReplaceAll(t, "~", "~0"), "/", "~1")
	}
	return out
}

// setAt sets pointer to v: in a mapping it adds or replaces the key; in a
// list it inserts (insert) or replaces the item.
func setAt(doc *yaml.Node, pointer string, v *yaml.Node, insert bool) error {
	parent, last, err := parentOf(doc, pointer)
	if err != nil {
		return err
	}
	switch parent.Kind {
	case yaml.MappingNode:
		if _, old := lookup(parent, last); old != nil {
			*old = *v
			return nil
		}
		parent.Content = append(parent.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: last,
			Line: v.Line, Column: v.Column}, v)
		return nil
	case yaml.SequenceNode:
		i, err := index(last, len(parent.Content), insert)
		if err != nil {
			return fmt.Errorf("%s: %w", pointer, err)
		}
		if !insert {
			parent.Content[i] = v
			return nil
		}
		parent.Content = append(parent.Content[:i], append([]*yaml.Node{v}, parent.Content[i:]...)...)
		return nil
	}
	return fmt.Errorf("%s: the parent is %s, not a mapping or a list", pointer, describe(parent))
}

// removeAt removes the node at pointer and returns it.
func removeAt(doc *yaml.Node, pointer string) (*yaml.Node, error) {
	parent, last, err := parentOf(doc, pointer)
	if err != nil {
		return nil, err
	}
	switch parent.Kind {
	case yaml.MappingNode:
		for i := 0; i < len(parent.Content); i += 2 {
			if parent.Content[i].Value == last {
				v := parent.Content[i+1]
				parent.Content = append(parent.Content[:i], parent.Content[i+2:]...)
				return v, nil
			}
		}
		return nil, fmt.Errorf("%s does not exist", pointer)
	case yaml.SequenceNode:
		i, err := index(last, len(parent.Content), false)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", pointer, err)
		}
		v := parent.Content[i]
		parent.Content = append(parent.Content[:i], parent.Content[i+1:]...)
		return v, nil
	}
	return nil, fmt.Errorf("%s: the parent is %s, not a mapping or a list", pointer, describe(parent))
}

// lookup returns the key and value nodes of key in mapping m (nil, nil
// when m is nil or lacks key).
func lookup(m *yaml.Node, key string) (*yaml.Node, *yaml.Node) {
	if m == nil {
		return nil, nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i], m.Content[i+1]
		}
	}
	return nil, nil
}

// clone is a deep copy of n that keeps its positions.
func clone(n *yaml.Node) *yaml.Node {
	if n == nil {
		return nil
	}
	c := *n
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		return clone(n.Alias)
	}
	c.Content = make([]*yaml.Node, len(n.Content))
	for i, k := range n.Content {
		c.Content[i] = clone(k)
	}
	return &c
}

// equalNodes compares two values, not their positions or styles.
func equalNodes(a, b *yaml.Node) bool {
	var va, vb any
	return a.Decode(&va) == nil && b.Decode(&vb) == nil && fmt.Sprint(va) == fmt.Sprint(vb)
}
