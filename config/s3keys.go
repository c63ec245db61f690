package config

// s3Keys are the keys an S3 destination and an S3 source share: where the
// bucket is and how to reach it. Destination and Source declare them as
// their own fields, so that code building either (in this module's tests
// and harnesses) writes them as plain composite-literal fields; the checks
// and descriptions of those keys are written once, here.
type s3Keys struct {
	bucket, prefix, region, endpoint string
	pathStyle                        bool
}

// s3Keys gathers the destination's S3 location keys.
func (d *Destination) s3Keys() s3Keys {
	return s3Keys{bucket: d.Bucket, prefix: d.Prefix, region: d.Region, endpoint: d.Endpoint, pathStyle: d.PathStyle}
}

// s3Keys gathers the source's S3 location keys.
func (s *Source) s3Keys() s3Keys {
	return s3Keys{bucket: s.Bucket, prefix: s.Prefix, region: s.Region, endpoint: s.Endpoint, pathStyle: s.PathStyle}
}

// set lists, in schema order, the keys that are set, for the problems of a
// directory (fs) destination or source that carries S3 settings.
func (k s3Keys) set() []string {
	return setKeys(keySet{"bucket", k.bucket != ""}, keySet{"prefix", k.prefix != ""}, keySet{"region", k.region != ""},
		keySet{"endpoint", k.endpoint != ""}, keySet{"path_style", k.pathStyle})
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
func (k s3Keys) url() string {
	out := "s3://" + k.bucket
	if k.prefix != "" {
		out += "/" + k.prefix
	}
	if k.endpoint != "" {
		out += " endpoint=" + redactURL(k.endpoint)
	}
	return out
}
