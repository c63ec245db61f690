package config

// S3Location is where a bucket and prefix are and how to reach them: the
// keys an S3 destination and an S3 source share, declared once and embedded
// in both, so that their checks and descriptions cannot drift apart.
// Credentials are never configured here: they come from the AWS credential
// chain.
type S3Location struct {
	// Bucket holds the objects.
	Bucket string `mapstructure:"bucket" yaml:"bucket,omitempty" json:"bucket,omitempty"`
	// Prefix is prepended to every key, so one bucket can hold several
	// replicas; no leading '/'.
	Prefix string `mapstructure:"prefix" yaml:"prefix,omitempty" json:"prefix,omitempty"`
	// Region is the bucket's region, for request signing.
	Region string `mapstructure:"region" yaml:"region,omitempty" json:"region,omitempty"`
	// Endpoint is an http(s) URL of an S3-compatible service (MinIO);
	// empty is AWS.
	Endpoint string `mapstructure:"endpoint" yaml:"endpoint,omitempty" json:"endpoint,omitempty"`
	// PathStyle addresses the bucket in the URL path, as MinIO needs.
	PathStyle bool `mapstructure:"path_style" yaml:"path_style,omitempty" json:"path_style,omitempty"`
}

// set lists, in schema order, the keys that are set, for the problems of a
// directory (fs) destination or source that carries S3 settings.
func (k S3Location) set() []string {
	return setKeys(keySet{"bucket", k.Bucket != ""}, keySet{"prefix", k.Prefix != ""}, keySet{"region", k.Region != ""},
		keySet{"endpoint", k.Endpoint != ""}, keySet{"path_style", k.PathStyle})
}

// keySet is one key and whether the configuration sets it.
type keySet struct {
	key string
	set bool
}

// setKeys lists, in the order given, the keys that are set.
func setKeys(keys ...keySet) []string {
	var out []string
	for _, k := range keys {
		if k.set {
			out = append(out, k.key)
		}
	}
	return out
}

// onlyFor reports each of keys, set at key path p, as "only valid for"
// what (such as "s3 sources").
func (c *checker) onlyFor(p, what string, keys []string) {
	for _, k := range keys {
		c.add(p+"."+k, "only valid for %s", what)
	}
}

// url describes the location for logs and reports as s3://bucket/prefix,
// followed by the endpoint without its credentials when one is set.
func (k S3Location) url() string {
	out := "s3://" + k.Bucket
	if k.Prefix != "" {
		out += "/" + k.Prefix
	}
	if k.Endpoint != "" {
		out += " endpoint=" + redactURL(k.Endpoint)
	}
	return out
}
