package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// maxConfigBytes bounds a --config file: it holds a few flags, not data.
const maxConfigBytes = 1 << 20

// envRef is the only environment reference a config value may hold.
var (
	envRef     = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)
	envRefOnly = regexp.MustCompile(`^\$\{[A-Za-z_][A-Za-z0-9_]*\}$`)
)

// applyConfig sets the flags of fs named in the YAML file at path, except
// those given on the command line (which win). Keys are flag names; values
// are scalars or lists (joined with ","); "${NAME}" is replaced by the
// environment variable NAME. Unknown keys are an error naming the key, and so
// is a literal value under a key that looks like a secret: secrets live in
// the environment only. Errors are flag errors (exit 3).
func applyConfig(fs *flag.FlagSet, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return withCode(exitInvalid, fmt.Errorf("config: %w", err))
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxConfigBytes+1))
	if err != nil {
		return withCode(exitInvalid, fmt.Errorf("config: %w", err))
	}
	if len(data) > maxConfigBytes {
		return usageErrorf("config %s: larger than %d bytes; a config holds flags, not data", path, maxConfigBytes)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return usageErrorf("config %s: %v", path, err)
	}
	if len(doc.Content) == 0 {
		return nil // an empty file sets nothing
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return usageErrorf("config %s: want a mapping of flag names to values (e.g. \"provider: confluent\")", path)
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	seen := map[string]bool{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		key := k.Value
		at := fmt.Sprintf("config %s:%d: %s", path, k.Line, key)
		if seen[key] {
			return usageErrorf("%s: given twice", at)
		}
		seen[key] = true
		if v.Kind == yaml.AliasNode {
			return usageErrorf("%s: aliases are not allowed in a config", at)
		}
		value, err := configValue(v)
		if err != nil {
			return usageErrorf("%s: %v", at, err)
		}
		if looksSecret(key) {
			if !envRefOnly.MatchString(value) {
				return usageErrorf("%s: this looks like a secret: keep it in the environment; a config may only name it as ${VARIABLE}", at)
			}
			if fs.Lookup(key) == nil {
				continue // a reference to a credential the provider reads from the environment itself
			}
		}
		switch key {
		case "config":
			return usageErrorf("%s: a config file cannot name another", at)
		case "print-config":
			return usageErrorf("%s: not a setting; pass --print-config on the command line", at)
		}
		fl := fs.Lookup(key)
		if fl == nil {
			return usageErrorf("%s: unknown key (not a flag of invitesync %s)%s", at, fs.Name(), suggest(fs, key))
		}
		if given[key] {
			continue // the command line wins
		}
		value, err = expandEnv(value)
		if err != nil {
			return usageErrorf("%s: %v", at, err)
		}
		if err := fs.Set(key, value); err != nil {
			return usageErrorf("%s: %v", at, err)
		}
	}
	return nil
}

// configValue renders a YAML value as the flag string it stands for.
func configValue(v *yaml.Node) (string, error) {
	switch v.Kind {
	case yaml.ScalarNode:
		if v.Tag == "!!null" {
			return "", errors.New("no value")
		}
		return v.Value, nil
	case yaml.SequenceNode:
		items := make([]string, 0, len(v.Content))
		for _, it := range v.Content {
			if it.Kind != yaml.ScalarNode {
				return "", errors.New("list items must be plain values")
			}
			items = append(items, it.Value)
		}
		return strings.Join(items, ","), nil
	default:
		return "", errors.New("want a value or a list of values")
	}
}

// expandEnv replaces ${NAME} by the variable's value; an unset variable is
// an error naming it (never its value). $NAME alone is left as written.
func expandEnv(s string) (string, error) {
	var missing []string
	out := envRef.ReplaceAllStringFunc(s, func(ref string) string {
		name := envRef.FindStringSubmatch(ref)[1]
		v, ok := os.LookupEnv(name)
		if !ok {
			missing = append(missing, name)
		}
		return v
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("environment variable %s is not set", strings.Join(missing, ", "))
	}
	return out, nil
}

// looksSecret reports whether a key names something that must not be written
// in a file: credentials come from the environment only.
func looksSecret(key string) bool {
	k := strings.ToLower(key)
	for _, w := range []string{"secret", "token", "password", "passwd", "api-key", "apikey", "api_key", "credential", "private-key", "private_key"} {
		if strings.Contains(k, w) {
			return true
		}
	}
	return false
}

// suggest names a flag close to key (a dash/underscore slip), if any.
func suggest(fs *flag.FlagSet, key string) string {
	alt := strings.ReplaceAll(key, "_", "-")
	if alt != key && fs.Lookup(alt) != nil {
		return fmt.Sprintf("; did you mean %q?", alt)
	}
	return ""
}

// printConfig writes the flags' merged values (defaults, config file, command
// line) as YAML a --config file can hold, with secret-looking values redacted.
func printConfig(w io.Writer, fs *flag.FlagSet) error {
	var names []string
	fs.VisitAll(func(f *flag.Flag) {
		if f.Name != "config" && f.Name != "print-config" {
			names = append(names, f.Name)
		}
	})
	sort.Strings(names)
	root := &yaml.Node{Kind: yaml.MappingNode}
	for _, n := range names {
		v := fs.Lookup(n).Value.String()
		if looksSecret(n) && v != "" {
			v = "REDACTED"
		}
		val := &yaml.Node{Kind: yaml.ScalarNode, Value: v}
		if v == "" {
			val.Style = yaml.DoubleQuotedStyle
		}
		root.Content = append(root.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: n}, val)
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(root); err != nil {
		return fmt.Errorf("print config: %w", err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("print config: %w", err)
	}
	_, err := w.Write(buf.Bytes())
	return err
}
