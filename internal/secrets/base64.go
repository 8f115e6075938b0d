package secrets

import "encoding/base64"

// decodeBase64 decodes a Secret's data value; a value that is not base64
// is returned as it is.
func decodeBase64(s string) string {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return s
	}
	return string(b)
}
