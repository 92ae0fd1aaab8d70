package sources

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// yamlRoster is the YAML file's envelope. Items stay yaml.Nodes: decoding a
// Node copies it and expands no alias, so the node count below is checked
// before anything is decoded into Go values, and each item is then checked
// by the same validator as a CSV row (which also needs the item's line).
type yamlRoster struct {
	Members []yaml.Node `yaml:"members"`
}

var (
	yamlLineRE    = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)
	yamlUnknownRE = regexp.MustCompile(`^field (.+) not found in type`)
)

// readYAML reads a `members:` list. YAML is parsed whole, so the file is
// capped at MaxYAMLBytes and the parsed tree at MaxYAMLNodes after alias
// expansion (a "billion laughs" file is refused, not expanded).
func readYAML(r io.Reader, size int64, v *validator) error {
	if size > MaxYAMLBytes {
		v.fileProblem("%s", tooBig(size, MaxYAMLBytes, "a YAML roster"))
		return nil
	}
	data, err := io.ReadAll(io.LimitReader(r, MaxYAMLBytes+1))
	if err != nil {
		return err
	}
	if len(data) > MaxYAMLBytes {
		v.fileProblem("%s", tooBig(int64(len(data)), MaxYAMLBytes, "a YAML roster"))
		return nil
	}
	if msg := textProblem(data[:min(len(data), maxSniffBytes)], "YAML"); msg != "" {
		v.fileProblem("%s", msg)
		return nil
	}
	data = bytes.TrimPrefix(data, []byte(utf8BOM))

	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true) // a misspelt "members:" is an error, not an empty roster
	var doc yamlRoster
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil // an empty file: no members (refused unless AllowEmpty)
		}
		yamlProblems(v, err, data)
		return nil
	}
	var extra yamlRoster
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		v.fileProblem("more than one YAML document (---): put every member under one members: list")
		return nil
	}

	memo := make(map[*yaml.Node]int)
	total := 0
	for i := range doc.Members {
		n := nodeCount(&doc.Members[i], memo, 0)
		if n < 0 {
			v.add(doc.Members[i].Line, -1, "", "", "a member nests deeper than %d levels: refusing it", maxYAMLDepth)
			return nil
		}
		if total += n; total > MaxYAMLNodes {
			v.fileProblem("the YAML expands to more than %d nodes through its aliases (an alias bomb?): refusing it", MaxYAMLNodes)
			return nil
		}
	}
	for i := range doc.Members {
		yamlItem(v, &doc.Members[i])
	}
	return nil
}

// maxYAMLDepth bounds how deep a member may nest (aliases count as a level);
// a real member is 4 levels deep.
const maxYAMLDepth = 64

// nodeCount is the number of nodes n stands for once aliases are expanded,
// capped just past MaxYAMLNodes, or -1 when it nests deeper than
// maxYAMLDepth. memo makes it linear in the parsed tree.
func nodeCount(n *yaml.Node, memo map[*yaml.Node]int, depth int) int {
	if c, ok := memo[n]; ok {
		return c
	}
	if depth > maxYAMLDepth {
		return -1
	}
	c := 1
	kids := n.Content
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		kids = []*yaml.Node{n.Alias}
	}
	for _, k := range kids {
		kc := nodeCount(k, memo, depth+1)
		if kc < 0 {
			return -1
		}
		if c += kc; c > MaxYAMLNodes {
			break
		}
	}
	memo[n] = c
	return c
}

// yamlProblems turns a yaml.v3 error into problems with lines.
func yamlProblems(v *validator, err error, data []byte) {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		for _, e := range te.Errors {
			row, msg := yamlLine(e)
			if m := yamlUnknownRE.FindStringSubmatch(msg); m != nil {
				v.add(row, 0, clip(m[1]), "", "unknown top-level key %q: a roster has one top-level key, members:", clip(m[1]))
				continue
			}
			if strings.Contains(msg, "cannot unmarshal") {
				if strings.Contains(msg, "into []yaml.Node") {
					msg = "members: must be a list of members (- email: ...)"
				} else {
					msg = "a YAML roster is a mapping with a members: list (members:\\n  - email: ...)"
				}
			}
			v.add(row, 0, "", "", "%s", msg)
		}
		return
	}
	row, msg := yamlLine(strings.TrimPrefix(err.Error(), "yaml: "))
	v.add(syntaxErrorLine(data, row, msg), 0, "", "", "not valid YAML: %s", msg)
}

// syntaxErrorLine finds the line a YAML syntax error is on. yaml.v3 names
// the line where the enclosing construct began, sometimes counted from 0, so
// it is never past the fault but can be lines before it ("a tab on line 3"
// said to be on line 2). The first prefix of the file, from that line on,
// that fails with the same message ends on the faulty line. The search is
// bounded; past it, yaml.v3's line stands.
func syntaxErrorLine(data []byte, reported int, msg string) int {
	const maxSteps, maxBytes = 25, 64 << 20
	if reported < 1 {
		return reported
	}
	lines := bytes.SplitAfter(data, []byte("\n"))
	parsed := 0
	for k := reported; k <= len(lines) && k < reported+maxSteps; k++ {
		prefix := bytes.Join(lines[:k], nil)
		if parsed += len(prefix); parsed > maxBytes {
			break
		}
		var n yaml.Node
		err := yaml.Unmarshal(prefix, &n)
		if err == nil {
			continue
		}
		if _, m := yamlLine(strings.TrimPrefix(err.Error(), "yaml: ")); m == msg {
			return k
		}
	}
	return reported
}

// yamlLine splits "line N: message" into N and message (0 if no line).
func yamlLine(s string) (int, string) {
	if m := yamlLineRE.FindStringSubmatch(s); m != nil {
		if n, err := strconv.Atoi(m[1]); err == nil {
			return n, m[2]
		}
	}
	return 0, s
}

func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < 100; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

// kindName is a YAML node kind in words, for messages.
func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	default:
		return "a value"
	}
}

// yamlItem checks one list item (a member) and hands it to the validator.
// Its row is the item's line.
func yamlItem(v *validator, item *yaml.Node) {
	line := item.Line
	n := resolve(item)
	if isNull(n) {
		return // "- " alone: a blank row
	}
	if n.Kind != yaml.MappingNode {
		v.add(line, -1, "", "", "a member must be a mapping like {email: name@example.com}, not %s", kindName(n))
		return
	}
	row := rawRow{row: line}
	pairs := mappingPairs(v, n, 0)
	for pos, kv := range pairs {
		k, val := kv[0], resolve(kv[1])
		if k.Kind != yaml.ScalarNode {
			v.add(line, pos, "", "", "a member's keys must be names like email, not %s", kindName(k))
			continue
		}
		c := v.column(k.Value)
		if c < 0 {
			if !v.opts.AllowExtraColumns {
				if s := suggestColumn(k.Value); s >= 0 {
					v.add(line, pos, clip(k.Value), "", "unknown key %q: did you mean %s? (map it with %s)", clip(k.Value), Columns[s], mapHint(s, k.Value))
				} else {
					v.add(line, pos, clip(k.Value), "", "unknown key %q; the keys are %s (or pass --allow-extra-columns)",
						clip(k.Value), strings.Join(Columns, ", "))
				}
			}
			row.other = row.other || !isNull(val)
			continue
		}
		cell := &row.cells[c]
		if cell.set {
			v.add(line, pos, Columns[c], "", "duplicate key %q in this member (also line %d)", clip(k.Value), pairs[cell.pos][0].Line)
			continue
		}
		*cell = rawCell{set: true, pos: pos}
		switch val.Kind {
		case yaml.ScalarNode:
			if !isNull(val) {
				cell.text = val.Value
			}
		case yaml.SequenceNode:
			cell.seq = true
			for _, it := range val.Content {
				s, msg := yamlListItem(resolve(it), c)
				if msg != "" {
					v.add(line, pos, Columns[c], "", "%s", msg)
					continue
				}
				cell.items = append(cell.items, s)
			}
		default:
			v.add(line, pos, Columns[c], "", "%s must be text or a list, not %s", Columns[c], kindName(val))
		}
	}
	if row.blank() {
		return // "- {}": a blank row
	}
	v.row(&row)
}

// mappingPairs lists a mapping's key/value pairs, with YAML merge keys
// (<<: *defaults) expanded after the item's own keys; as in YAML, the item's
// own keys win, then the first merged mapping that has the key.
func mappingPairs(v *validator, n *yaml.Node, depth int) [][2]*yaml.Node {
	var own, merged [][2]*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.Tag == "!!merge" && depth < 10 {
			src := resolve(val)
			switch src.Kind {
			case yaml.MappingNode:
				merged = append(merged, mappingPairs(v, src, depth+1)...)
			case yaml.SequenceNode:
				for _, s := range src.Content {
					if s = resolve(s); s.Kind == yaml.MappingNode {
						merged = append(merged, mappingPairs(v, s, depth+1)...)
					}
				}
			}
			continue
		}
		own = append(own, [2]*yaml.Node{k, val})
	}
	if len(merged) == 0 {
		return own
	}
	have := make(map[string]bool)
	for _, kv := range own {
		have[mergeKey(v, kv[0])] = true
	}
	for _, kv := range merged {
		if k := mergeKey(v, kv[0]); !have[k] {
			have[k] = true
			own = append(own, kv)
		}
	}
	return own
}

// mergeKey identifies a key for merging: a known column by its index (so
// "Email" and "email" are one key), anything else by its text.
func mergeKey(v *validator, k *yaml.Node) string {
	if k.Kind == yaml.ScalarNode {
		if c := v.column(k.Value); c >= 0 {
			return Columns[c]
		}
	}
	return "\x00" + k.Value
}

// yamlListItem is one list item as text, or why it cannot be. A service
// role may be written "LINK=ROLE" or {service_definition_link: LINK, role: ROLE}.
func yamlListItem(n *yaml.Node, col int) (string, string) {
	switch {
	case n.Kind == yaml.ScalarNode:
		if isNull(n) {
			return "", ""
		}
		return n.Value, ""
	case n.Kind == yaml.MappingNode && col == colServiceRoles:
		var link, role string
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], resolve(n.Content[i+1])
			if k.Kind != yaml.ScalarNode || val.Kind != yaml.ScalarNode {
				return "", "a service role is LINK=ROLE or {service_definition_link: LINK, role: ROLE}"
			}
			switch k.Value {
			case "service_definition_link":
				link = val.Value
			case "role":
				role = val.Value
			default:
				return "", fmt.Sprintf("unknown key %q in a service role; use service_definition_link and role", clip(k.Value))
			}
		}
		return link + "=" + role, ""
	}
	return "", fmt.Sprintf("%s items must be text, not %s", Columns[col], kindName(n))
}
