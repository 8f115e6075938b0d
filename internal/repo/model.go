package repo

import "github.com/gen-gitops/gen/generator"

// Model returns the repository as generators read it (nil for a nil r).
// The Objects share their documents with r: each is still decoded once,
// when first asked.
func (r *Repo) Model() *generator.Repo {
	if r == nil {
		return nil
	}
	m := &generator.Repo{
		Files: r.Files,
		Config: generator.Config{
			ClusterSecrets:     r.Config.ClusterSecrets,
			PrimaryDomain:      r.Config.PrimaryDomain,
			Domains:            r.Config.Domains,
			AppTemplateURL:     r.Config.AppTemplate.URL,
			AppTemplateVersion: r.Config.AppTemplate.Version,
		},
		RootKustomizations: r.RootKustomizations,
		AppsDir:            r.AppsDir,
		Namespaces:         make(map[string]*generator.Namespace, len(r.Namespaces)),
		SopsComponent:      r.SopsComponent,
		ClusterSecretsFile: r.ClusterSecretsFile,
		SecretVars:         r.SecretVars,
		Objects:            make([]generator.Object, len(r.objects)),
	}
	for i := range r.objects {
		o := &r.objects[i]
		m.Objects[i] = generator.Object{File: o.File, APIVersion: o.APIVersion, Kind: o.Kind, Name: o.Name, Doc: o}
	}
	for name, ns := range r.Namespaces {
		apps := make(map[string]*generator.App, len(ns.Apps))
		for n, a := range ns.Apps {
			apps[n] = &generator.App{
				Namespace: a.Namespace, Name: a.Name, Dir: a.Dir, KS: a.KS,
				Registered: a.Registered, Kustomizations: a.Kustomizations,
			}
		}
		m.Namespaces[name] = &generator.Namespace{Name: ns.Name, Dir: ns.Dir, Kustomization: ns.Kustomization, Apps: apps}
	}
	for _, d := range r.Domains {
		m.Domains = append(m.Domains, generator.Domain{Var: d.Var, Value: d.Value, Primary: d.Primary})
	}
	for _, g := range r.Gateways {
		gw := generator.Gateway{Name: g.Name, Namespace: g.Namespace, File: g.File, Target: g.Target}
		for _, l := range g.Listeners {
			gw.Listeners = append(gw.Listeners, generator.Listener{Name: l.Name, Protocol: l.Protocol, Port: l.Port})
		}
		m.Gateways = append(m.Gateways, gw)
	}
	return m
}
