package generator

// Expose is how an app's hostnames reach it.
type Expose string

// Ways to expose an app.
const (
	// ExposeGateway attaches an HTTPRoute to an envoy gateway (the default).
	ExposeGateway Expose = "gateway"
	// ExposeTunnel adds a cloudflared ingress rule that sends the hostname
	// straight to the app's Service, and a DNSEndpoint for the name.
	ExposeTunnel Expose = "tunnel"
	// ExposeAccess writes a Chute: its operator gives the Service its own
	// tunnel and a Cloudflare Access application.
	ExposeAccess Expose = "access"
)

// Exposes lists the valid values of --expose.
func Exposes() []Expose { return []Expose{ExposeGateway, ExposeTunnel, ExposeAccess} }
