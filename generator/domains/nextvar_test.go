package domains

import "testing"

func TestNextDomainVar(t *testing.T) {
	cases := []struct {
		vars []string
		want string
	}{
		{nil, "SECRET_DOMAIN"},
		{[]string{"SECRET_DOMAIN", "TIMEZONE"}, "SECRET_DOMAIN_TWO"},
		{[]string{"SECRET_DOMAIN", "SECRET_DOMAIN_TWO", "SECRET_DOMAIN_THREE"}, "SECRET_DOMAIN_FOUR"},
		{[]string{"SECRET_DOMAIN", "SECRET_DOMAIN_THREE"}, "SECRET_DOMAIN_FOUR"},
		{[]string{"SECRET_DOMAIN", "SECRET_DOMAIN_2"}, "SECRET_DOMAIN_3"},
		{[]string{"SECRET_DOMAIN", "SECRET_DOMAIN_TWENTY"}, "SECRET_DOMAIN_21"},
	}
	for _, tc := range cases {
		if got := nextDomainVar(tc.vars); got != tc.want {
			t.Errorf("nextDomainVar(%v) = %s, want %s", tc.vars, got, tc.want)
		}
	}
}
