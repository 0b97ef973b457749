package examples

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// unitDirectives reads a systemd unit into directive → values.
func unitDirectives(t *testing.T, path string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	sc := bufio.NewScanner(bytes.NewReader(readFile(t, path)))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == ';' || line[0] == '[' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Errorf("%s: not a directive: %q", path, line)
			continue
		}
		out[k] = append(out[k], v)
	}
	return out
}

// TestSystemdUnit checks the hardening the issue asks for and, where
// systemd-analyze exists, that systemd accepts the unit and rates its
// exposure at most 2.0 ("OK").
func TestSystemdUnit(t *testing.T) {
	path := filepath.Join("systemd", "trunkd.service")
	d := unitDirectives(t, path)
	want := map[string]string{
		"User": "trunkd", "ProtectSystem": "strict", "NoNewPrivileges": "yes", "ProtectHome": "yes",
		"PrivateTmp": "yes", "CapabilityBoundingSet": "", "Restart": "on-failure",
		"ExecStart":  "/usr/local/bin/trunkd serve --config /etc/trunkd/trunkd.yaml",
		"ExecReload": "/bin/kill -HUP $MAINPID",
		// a dead trunkd never leaves its engine registering (cluster:)
		"ExecStopPost": "/usr/local/bin/trunkd fence --config /etc/trunkd/trunkd.yaml",
	}
	for k, v := range want {
		if got := d[k]; len(got) != 1 || got[0] != v {
			t.Errorf("%s: %s=%q, want %q", path, k, got, v)
		}
	}
	rw := strings.Join(d["ReadWritePaths"], " ")
	for _, p := range []string{"/var/lib/trunkd/providers", "/var/lib/trunkd/out"} {
		if !strings.Contains(rw, p) {
			t.Errorf("%s: ReadWritePaths %q lacks %s", path, rw, p)
		}
	}
	analyze := needTool(t, "systemd-analyze")
	// verify wants the commands to exist: check a copy that runs /bin/true.
	unit := filepath.Join(t.TempDir(), "trunkd.service")
	data := strings.ReplaceAll(string(readFile(t, path)), "=/usr/local/bin/trunkd", "=/bin/true")
	if err := os.WriteFile(unit, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	runTool(t, ".", analyze, "verify", "--man=no", unit)
	out := runTool(t, ".", analyze, "security", "--offline=yes", unit)
	m := regexp.MustCompile(`Overall exposure level for \S+: ([0-9.]+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no exposure level in systemd-analyze security output:\n%s", out)
	}
	if level, _ := strconv.ParseFloat(m[1], 64); level > 2.0 {
		t.Errorf("exposure level %.1f, want at most 2.0:\n%s", level, out)
	}
}

// k8sObject is the part of a Kubernetes object the test reads.
type k8sObject struct {
	Kind     string `yaml:"kind"`
	Metadata struct {
		Name        string            `yaml:"name"`
		Annotations map[string]string `yaml:"annotations"`
	} `yaml:"metadata"`
	Data map[string]string `yaml:"data"`
	Spec struct {
		Template struct {
			Metadata struct {
				Labels      map[string]string `yaml:"labels"`
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"metadata"`
			Spec struct {
				SecurityContext struct {
					RunAsUser  int `yaml:"runAsUser"`
					RunAsGroup int `yaml:"runAsGroup"`
					FSGroup    int `yaml:"fsGroup"`
				} `yaml:"securityContext"`
				Containers []k8sContainer `yaml:"containers"`
				Volumes    []struct {
					Name      string                 `yaml:"name"`
					ConfigMap *struct{ Name string } `yaml:"configMap"`
					Secret    *struct {
						SecretName string `yaml:"secretName"`
					} `yaml:"secret"`
				} `yaml:"volumes"`
			} `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

type k8sContainer struct {
	Name  string   `yaml:"name"`
	Image string   `yaml:"image"`
	Args  []string `yaml:"args"`
	Env   []struct {
		Name      string `yaml:"name"`
		ValueFrom struct {
			FieldRef struct {
				FieldPath string `yaml:"fieldPath"`
			} `yaml:"fieldRef"`
		} `yaml:"valueFrom"`
	} `yaml:"env"`
	Ports []struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
	} `yaml:"ports"`
	LivenessProbe  k8sProbe `yaml:"livenessProbe"`
	ReadinessProbe k8sProbe `yaml:"readinessProbe"`
	VolumeMounts   []struct {
		Name      string `yaml:"name"`
		MountPath string `yaml:"mountPath"`
	} `yaml:"volumeMounts"`
}

type k8sProbe struct {
	HTTPGet struct {
		Path string `yaml:"path"`
		Port string `yaml:"port"`
	} `yaml:"httpGet"`
}

// readK8sObjects decodes every document of a manifest stream; name is for
// error messages.
func readK8sObjects(t *testing.T, name string, data []byte) []k8sObject {
	t.Helper()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var out []k8sObject
	for {
		var o k8sObject
		err := dec.Decode(&o)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out = append(out, o)
	}
}

// mountOf returns the volume name mounted at the directory holding path.
func mountOf(c k8sContainer, path string) string {
	best, name := "", ""
	for _, m := range c.VolumeMounts {
		if (path == m.MountPath || strings.HasPrefix(path, m.MountPath+"/")) && len(m.MountPath) > len(best) {
			best, name = m.MountPath, m.Name
		}
	}
	return name
}

// TestKubernetesManifests checks that the manifests fit together: the
// config the pod reads, the git working copy on an emptyDir, the git
// credentials, the age identity and the token hashes on Secrets, the output
// directory and the probe port match trunkd.yaml; no ConfigMap holds a
// password and no git-sync sidecar is left; kubectl kustomize builds the
// whole when kubectl is installed.
func TestKubernetesManifests(t *testing.T) {
	dir := "kubernetes"
	var kust struct {
		Resources []string `yaml:"resources"`
	}
	if err := yaml.Unmarshal(readFile(t, filepath.Join(dir, "kustomization.yaml")), &kust); err != nil {
		t.Fatal(err)
	}
	var objs []k8sObject
	for _, r := range kust.Resources {
		path := filepath.Join(dir, r)
		objs = append(objs, readK8sObjects(t, path, readFile(t, path))...)
	}
	cfgText := readFile(t, filepath.Join(dir, "trunkd.yaml"))
	var cfg k8sConfig
	if err := yaml.Unmarshal(cfgText, &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Git.Remote == "" || cfg.Secrets.AgeIdentityFile == "" || len(cfg.Secrets.AgeRecipients) == 0 {
		t.Errorf("trunkd.yaml: want a git: section and age identity and recipients, got %+v", cfg)
	}
	checkNoPassword(t, "trunkd.yaml (the trunkd-config ConfigMap)", string(cfgText))
	_, listenPort, _ := net.SplitHostPort(cfg.Listen)
	found := 0
	for _, o := range objs {
		switch {
		case o.Kind == "ConfigMap":
			for k, v := range o.Data {
				checkNoPassword(t, "ConfigMap "+o.Metadata.Name+" key "+k, v)
			}
		case o.Kind == "Deployment":
			found++
			checkDeployment(t, o, cfg, listenPort)
			checkDeploymentOperable(t, o)
		case o.Kind == "Service":
			for k := range o.Metadata.Annotations {
				if strings.HasPrefix(k, "prometheus.io/") {
					t.Errorf("Service %s has %s: with the pod's annotations a common setup scrapes twice", o.Metadata.Name, k)
				}
			}
		}
	}
	for _, tg := range cfg.Render.Targets {
		if tg.Mode != "0640" {
			t.Errorf("render target %s: mode %q, want \"0640\" so the engine container reads it through the pod's fsGroup", tg.Output, tg.Mode)
		}
	}
	if found != 1 {
		t.Fatalf("want one Deployment among the kustomization resources, found %d", found)
	}
	out := runTool(t, dir, needTool(t, "kustomize"), "build", ".")
	for _, o := range readK8sObjects(t, "kustomize output", []byte(out)) {
		for k, v := range o.Data {
			checkNoPassword(t, o.Kind+" "+o.Metadata.Name+" key "+k, v)
		}
	}
}

// k8sConfig is what the manifests must agree with in the pod's trunkd.yaml.
type k8sConfig struct {
	Listen string `yaml:"listen"`
	Auth   struct {
		TokensFile string `yaml:"tokens_file"`
	} `yaml:"auth"`
	Git struct {
		Remote            string `yaml:"remote"`
		Workdir           string `yaml:"workdir"`
		TokenFile         string `yaml:"token_file"`
		WebhookSecretFile string `yaml:"webhook_secret_file"`
	} `yaml:"git"`
	Secrets struct {
		AgeIdentityFile string   `yaml:"age_identity_file"`
		AgeRecipients   []string `yaml:"age_recipients"`
	} `yaml:"secrets"`
	Render struct {
		Targets []struct{ Output, Mode string } `yaml:"targets"`
	} `yaml:"render"`
}

// checkNoPassword fails when text holds a pwd key (a provider file) or
// a SOPS identity.
func checkNoPassword(t *testing.T, what, text string) {
	t.Helper()
	for _, line := range strings.Split(text, "\n") {
		if l := strings.TrimSpace(line); strings.HasPrefix(l, "pwd:") || strings.HasPrefix(l, "AGE-SECRET-KEY-") {
			t.Errorf("%s holds a secret: %q", what, l)
		}
	}
}

func checkDeployment(t *testing.T, o k8sObject, cfg k8sConfig, port string) {
	t.Helper()
	ann := o.Spec.Template.Metadata.Annotations
	if ann["prometheus.io/scrape"] != "true" || ann["prometheus.io/port"] != port || ann["prometheus.io/path"] != "/metrics" {
		t.Errorf("pod annotations %v do not point Prometheus at :%s/metrics", ann, port)
	}
	var c *k8sContainer
	for i := range o.Spec.Template.Spec.Containers {
		if o.Spec.Template.Spec.Containers[i].Name == "trunkd" {
			c = &o.Spec.Template.Spec.Containers[i]
		}
	}
	if c == nil {
		t.Fatal("no trunkd container")
	}
	if c.LivenessProbe.HTTPGet.Path != "/healthz" || c.ReadinessProbe.HTTPGet.Path != "/readyz" {
		t.Errorf("probes: liveness %q readiness %q, want /healthz and /readyz", c.LivenessProbe.HTTPGet.Path, c.ReadinessProbe.HTTPGet.Path)
	}
	for _, p := range c.Ports {
		if p.Name == c.LivenessProbe.HTTPGet.Port && strconv.Itoa(p.ContainerPort) != port {
			t.Errorf("probe port %s is %d, trunkd listens on %s", p.Name, p.ContainerPort, port)
		}
	}
	volumes := map[string]string{}
	for _, v := range o.Spec.Template.Spec.Volumes {
		switch {
		case v.ConfigMap != nil:
			volumes[v.Name] = "configmap/" + v.ConfigMap.Name
		case v.Secret != nil:
			volumes[v.Name] = "secret/" + v.Secret.SecretName
		default:
			volumes[v.Name] = "other"
		}
	}
	cfgPath := ""
	for i, a := range c.Args {
		if a == "--config" && i+1 < len(c.Args) {
			cfgPath = c.Args[i+1]
		}
	}
	for path, want := range map[string]string{
		cfgPath: "configmap/trunkd-config", cfg.Git.Workdir: "other",
		cfg.Git.TokenFile: "secret/trunkd-git", cfg.Git.WebhookSecretFile: "secret/trunkd-git",
		cfg.Secrets.AgeIdentityFile: "secret/trunkd-age",
		cfg.Auth.TokensFile:         "secret/trunkd-tokens", cfg.Render.Targets[0].Output: "other",
	} {
		if got := volumes[mountOf(*c, path)]; got != want {
			t.Errorf("%s is on volume %q (%s), want %s", path, mountOf(*c, path), got, want)
		}
	}
	for _, m := range c.VolumeMounts {
		if m.MountPath == cfg.Git.Workdir {
			t.Errorf("git.workdir %s is a mount point: trunkd re-clones a broken working copy beside it and renames it, so it must be a folder inside the volume", m.MountPath)
		}
	}
	if len(o.Spec.Template.Spec.Containers) != 1 {
		t.Errorf("want trunkd alone in the pod (its own git follower, no git-sync sidecar), got %d containers", len(o.Spec.Template.Spec.Containers))
	}
}

// checkDeploymentOperable: a pinned image, the pod IP advertised by the
// prober, the fsGroup an engine container reads the rendered files
// through, and the target label the alert rules select.
func checkDeploymentOperable(t *testing.T, o k8sObject) {
	t.Helper()
	pod := o.Spec.Template
	if sc := pod.Spec.SecurityContext; sc.FSGroup == 0 || sc.FSGroup != sc.RunAsGroup {
		t.Errorf("pod securityContext %+v: want fsGroup = runAsGroup, so the 0640 engine files are group-readable in the pod", sc)
	}
	if pod.Metadata.Labels["service"] != "trunkd" {
		t.Error(`pod lacks the label service: trunkd that the alert rules select on`)
	}
	for _, c := range pod.Spec.Containers {
		if c.Name != "trunkd" {
			continue
		}
		if _, tag, ok := strings.Cut(c.Image[strings.LastIndex(c.Image, "/")+1:], ":"); !ok || tag == "latest" || tag == "" {
			t.Errorf("image %q: pin a release tag, not :latest", c.Image)
		}
		if !strings.Contains(strings.Join(c.Args, " "), "--probe-advertise $(POD_IP)") {
			t.Errorf("args %q: want --probe-advertise $(POD_IP)", c.Args)
		}
		podIP := false
		for _, e := range c.Env {
			podIP = podIP || e.Name == "POD_IP" && e.ValueFrom.FieldRef.FieldPath == "status.podIP"
		}
		if !podIP {
			t.Error("no env POD_IP from the downward API (fieldPath status.podIP)")
		}
	}
}
