package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strings"

	"github.com/spf13/pflag"
	"gopkg.in/yaml.v3"

	"github.com/invitesync/invitesync/providers"
)

// maxConfigBytes bounds a --config file: it holds a few flags, not data.
const maxConfigBytes = 1 << 20

// envRef is the only environment reference a config value may hold.
var (
	envRef     = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)
	envRefOnly = regexp.MustCompile(`^\$\{[A-Za-z_][A-Za-z0-9_]*\}$`)
	// urlUserinfo finds scheme://userinfo@ so --print-config never shows it.
	urlUserinfo = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.-]*://)[^/?#@\s]*@`)
)

// readConfigFile reads a --config file's top-level mapping. Errors are flag
// errors (exit 3).
func readConfigFile(path string) (*yaml.Node, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, withCode(exitInvalid, fmt.Errorf("config: %w", err))
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxConfigBytes+1))
	if err != nil {
		return nil, withCode(exitInvalid, fmt.Errorf("config: %w", err))
	}
	if len(data) > maxConfigBytes {
		return nil, usageErrorf("config %s: larger than %d bytes; a config holds flags, not data", path, maxConfigBytes)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, usageErrorf("config %s: %v", path, err)
	}
	if len(doc.Content) == 0 {
		return nil, nil // an empty file sets nothing
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, usageErrorf("config %s: want a mapping of flag names to values (e.g. \"provider: confluent\")", path)
	}
	return root, nil
}

// applyConfig sets the flags of fs named in the YAML file at path, except
// those given on the command line (which win). Keys are flag names; values
// are scalars or lists (joined with ","); "${NAME}" is replaced by the
// environment variable NAME. Unknown keys are an error naming the key (with
// the closest flag), and so is a literal value under a key that looks like a
// secret (secrets live in the environment only), and so is a reference to a
// credential variable under any other key. Errors are flag errors (exit 3).
func applyConfig(fs *pflag.FlagSet, path string) error {
	root, err := readConfigFile(path)
	if err != nil || root == nil {
		return err
	}
	given := map[string]bool{}
	fs.Visit(func(f *pflag.Flag) { given[f.Name] = true })
	seen := map[string]bool{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		key := k.Value
		at := fmt.Sprintf("config %s:%d: %s", path, k.Line, key)
		if seen[key] {
			return usageErrorf("%s: given twice", at)
		}
		seen[key] = true
		value, skip, err := configSetting(fs, key, v)
		if err != nil {
			return usageErrorf("%s: %v", at, err)
		}
		if skip || given[key] {
			continue // the command line wins
		}
		if err := fs.Set(key, value); err != nil {
			return usageErrorf("%s: %v", at, err)
		}
	}
	return nil
}

// configSetting checks one key: value of a config (or of a fleet target)
// against fs and returns the flag value it stands for, ${NAME} expanded.
// skip is true for a credential named only as a reference (the provider
// reads it from the environment itself).
func configSetting(fs *pflag.FlagSet, key string, v *yaml.Node) (value string, skip bool, err error) {
	if v.Kind == yaml.AliasNode {
		return "", false, errors.New("aliases are not allowed in a config")
	}
	if key == "columns" && v.Kind == yaml.MappingNode {
		value, err = columnsValue(v)
	} else {
		value, err = configValue(v)
	}
	if err != nil {
		return "", false, err
	}
	if looksSecret(key) {
		if !envRefOnly.MatchString(value) {
			return "", false, errors.New("this looks like a secret: keep it in the environment; a config may only name it as ${VARIABLE}")
		}
		if fs.Lookup(key) == nil {
			return "", true, nil
		}
	}
	switch key {
	case "config":
		return "", false, errors.New("a config file cannot name another")
	case "print-config":
		return "", false, errors.New("not a setting; pass --print-config on the command line")
	}
	if fs.Lookup(key) == nil {
		return "", false, fmt.Errorf("unknown key (not a flag of invitesync %s)%s", fs.Name(), suggestFlag(fs, key))
	}
	if !looksSecret(key) {
		if cv := credentialRefs(value); len(cv) > 0 {
			return "", false, fmt.Errorf("${%s} is a credential variable: it is never copied into another setting (credentials are read from the environment by the provider itself)", cv[0])
		}
	}
	value, err = expandEnv(value)
	if err != nil {
		return "", false, err
	}
	return value, false, nil
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

// columnsValue renders a columns: mapping (column: header text) as the
// --columns spelling, column=Header,...
func columnsValue(v *yaml.Node) (string, error) {
	var parts []string
	for i := 0; i+1 < len(v.Content); i += 2 {
		k, h := v.Content[i], v.Content[i+1]
		if k.Kind != yaml.ScalarNode || h.Kind != yaml.ScalarNode {
			return "", errors.New("want column: header text pairs, e.g. email: Email Address")
		}
		if strings.ContainsAny(h.Value, ",=") {
			return "", fmt.Errorf("%s: header %q holds ',' or '=', which a column mapping cannot carry", k.Value, h.Value)
		}
		parts = append(parts, k.Value+"="+h.Value)
	}
	return strings.Join(parts, ","), nil
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

// credentialRefs lists the ${NAME} references in s that name a credential.
func credentialRefs(s string) []string {
	var out []string
	for _, m := range envRef.FindAllStringSubmatch(s, -1) {
		if isCredentialVar(m[1]) {
			out = append(out, m[1])
		}
	}
	return out
}

// isCredentialVar reports whether an environment variable holds (or may
// hold) a credential: any name with KEY, SECRET, TOKEN, PASSWORD, PASSWD or
// CREDENTIAL in it, and every variable a registered provider reads.
func isCredentialVar(name string) bool {
	u := strings.ToUpper(name)
	for _, w := range []string{"KEY", "SECRET", "TOKEN", "PASSWORD", "PASSWD", "CREDENTIAL"} {
		if strings.Contains(u, w) {
			return true
		}
	}
	for _, p := range providers.Names() {
		f, _ := providers.Lookup(p)
		for _, c := range f.Credentials {
			if strings.EqualFold(c.Env, name) {
				return true
			}
		}
	}
	return false
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

// suggestFlag names the flag of fs closest to key, if one is close enough.
func suggestFlag(fs *pflag.FlagSet, key string) string {
	var names []string
	fs.VisitAll(func(f *pflag.Flag) {
		if !f.Hidden {
			names = append(names, f.Name)
		}
	})
	if s := closest(key, names); s != "" {
		return fmt.Sprintf("; did you mean %q?", s)
	}
	return ""
}

// redact hides what a printed setting must not show: the whole value of a
// secret-looking key, URL userinfo (https://user:pass@host), and any value a
// credential variable of the environment holds.
func redact(name, v string) string {
	if v == "" {
		return v
	}
	if looksSecret(name) {
		return "REDACTED"
	}
	v = urlUserinfo.ReplaceAllString(v, "${1}REDACTED@")
	for _, kv := range os.Environ() {
		k, val, _ := strings.Cut(kv, "=")
		if len(val) >= 4 && isCredentialVar(k) && strings.Contains(v, val) {
			v = strings.ReplaceAll(v, val, "REDACTED")
		}
	}
	return v
}

// printConfig writes the flags' merged values (defaults, config file, command
// line) as YAML a --config file can hold, with secrets redacted.
func printConfig(w io.Writer, fs *pflag.FlagSet) error {
	var names []string
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Name != "config" && f.Name != "print-config" && f.Name != "help" && f.Deprecated == "" {
			names = append(names, f.Name)
		}
	})
	sort.Strings(names)
	root := &yaml.Node{Kind: yaml.MappingNode}
	for _, n := range names {
		v := redact(n, fs.Lookup(n).Value.String())
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
