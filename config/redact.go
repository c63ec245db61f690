package config

import (
	"maps"
	"net/url"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// String describes the destination for logs and reports. It never prints
// credentials: an endpoint's user:password@ part is dropped (Validate
// rejects such endpoints, but a Destination may be printed before or
// without validation).
func (d Destination) String() string {
	var b strings.Builder
	switch d.Type {
	case "s3":
		b.WriteString(d.S3Location.url())
		if d.Region != "" {
			b.WriteString(" region=" + d.Region)
		}
	default:
		b.WriteString(d.Type + ":" + d.Path)
	}
	if d.Name != "" && d.Name != d.defaultName() {
		b.WriteString(" (" + d.Name + ")")
	}
	return b.String()
}

// defaultName is the name SetDefaults would give the destination.
func (d Destination) defaultName() string {
	c := Destination{Type: d.Type, Path: d.Path, S3Location: S3Location{Bucket: d.Bucket, Prefix: d.Prefix}}
	c.setDefaults()
	return c.Name
}

// Redacted returns a copy that is safe to print or serialise: the
// endpoint's userinfo is removed. Tags are copied so the result shares no
// map with d.
func (d Destination) Redacted() Destination {
	d.Endpoint = redactURL(d.Endpoint)
	d.Tags = maps.Clone(d.Tags)
	return d
}

// redactURL removes userinfo, the query string and the fragment from a URL:
// an S3 endpoint needs none of them, and each may carry a secret
// (?X-Amz-Signature=, ?secret=). A string that does not parse but contains
// '@', '?' or '#' is withheld entirely.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		if strings.ContainsAny(s, "@?#") {
			return "<redacted invalid URL>"
		}
		return s
	}
	hidden := u.RawQuery != "" || u.ForceQuery || u.Fragment != ""
	if u.User == nil && !hidden {
		return s
	}
	u.User, u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment = nil, "", false, "", ""
	if hidden {
		return u.String() + "?<redacted>"
	}
	return u.String()
}

// Redacted returns a deep copy with every destination redacted, for
// "show config" commands and startup logs.
func (c *Config) Redacted() *Config {
	out := *c
	out.Jobs = slices.Clone(c.Jobs)
	for i := range out.Jobs {
		j := &out.Jobs[i]
		j.Include = slices.Clone(j.Include)
		j.Exclude = slices.Clone(j.Exclude)
		j.Order = slices.Clone(j.Order)
		j.From.Endpoint = redactURL(j.From.Endpoint)
		j.Destinations = slices.Clone(j.Destinations)
		for k := range j.Destinations {
			j.Destinations[k] = j.Destinations[k].Redacted()
		}
	}
	return &out
}

// YAML renders the redacted configuration, with defaults filled in, in the
// file syntax Load reads, so an operator can see exactly what will run and
// save it back as a config file.
func (c *Config) YAML() ([]byte, error) {
	return yaml.Marshal(c.Redacted())
}
