package gittest

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// SSHServer serves the bare repositories under Root over SSH on loopback,
// running the git binary's receive-pack and upload-pack for each session,
// as a forge's SSH endpoint does. Only authorized public keys get in.
type SSHServer struct {
	// Root holds the bare repositories.
	Root string
	// Addr is host:port.
	Addr string

	hostKey ssh.Signer
	mu      sync.Mutex
	allowed map[string]bool
}

// NewSSHServer starts an SSH git server; it stops when the test ends.
func NewSSHServer(t testing.TB) *SSHServer {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		missing(t, "git is not installed")
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	s := &SSHServer{Root: t.TempDir(), hostKey: signer, allowed: map[string]bool{}}
	cfg := &ssh.ServerConfig{
		PublicKeyCallback: func(_ ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			s.mu.Lock()
			defer s.mu.Unlock()
			if s.allowed[string(key.Marshal())] {
				return nil, nil
			}
			return nil, errors.New("key not authorized")
		},
	}
	cfg.AddHostKey(signer)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	s.Addr = ln.Addr().String()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serveConn(c, cfg)
		}
	}()
	return s
}

// Authorize lets key in.
func (s *SSHServer) Authorize(key ssh.PublicKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.allowed[string(key.Marshal())] = true
}

// NewBare creates an empty bare repository called name and returns its
// ssh:// URL.
func (s *SSHServer) NewBare(t testing.TB, name string) string {
	t.Helper()
	Git(t, "", "init", "-q", "--bare", "-b", "main", filepath.Join(s.Root, name))
	return "ssh://git@" + s.Addr + "/" + name
}

// KnownHosts writes a known_hosts file naming the server's host key and
// returns its path (for SSH_KNOWN_HOSTS).
func (s *SSHServer) KnownHosts(t testing.TB) string {
	t.Helper()
	host, port, _ := net.SplitHostPort(s.Addr)
	line := fmt.Sprintf("[%s]:%s %s", host, port, ssh.MarshalAuthorizedKey(s.hostKey.PublicKey()))
	p := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(p, []byte(line), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func (s *SSHServer) serveConn(c net.Conn, cfg *ssh.ServerConfig) {
	defer c.Close()
	_, chans, reqs, err := ssh.NewServerConn(c, cfg)
	if err != nil {
		return
	}
	go ssh.DiscardRequests(reqs)
	for nc := range chans {
		if nc.ChannelType() != "session" {
			_ = nc.Reject(ssh.UnknownChannelType, "sessions only")
			continue
		}
		ch, chReqs, err := nc.Accept()
		if err != nil {
			continue
		}
		go s.serveSession(ch, chReqs)
	}
}

// serveSession runs one "exec git-receive-pack '/name'" (or upload-pack).
func (s *SSHServer) serveSession(ch ssh.Channel, reqs <-chan *ssh.Request) {
	defer ch.Close()
	for req := range reqs {
		if req.Type == "env" {
			_ = req.Reply(true, nil)
			continue
		}
		if req.Type != "exec" || len(req.Payload) < 4 {
			_ = req.Reply(false, nil)
			continue
		}
		n := binary.BigEndian.Uint32(req.Payload)
		command := string(req.Payload[4 : 4+n])
		verb, arg, _ := strings.Cut(command, " ")
		repoPath := filepath.Join(s.Root, filepath.Clean("/"+strings.Trim(arg, "'\"")))
		if (verb != "git-receive-pack" && verb != "git-upload-pack") || !strings.HasPrefix(repoPath, s.Root+string(filepath.Separator)) {
			_ = req.Reply(false, nil)
			return
		}
		_ = req.Reply(true, nil)
		cmd := exec.Command("git", strings.TrimPrefix(verb, "git-"), repoPath)
		cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1")
		cmd.Stdin, cmd.Stdout, cmd.Stderr = ch, ch, ch.Stderr()
		code := uint32(0)
		if err := cmd.Run(); err != nil {
			code = 1
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				code = uint32(ee.ExitCode())
			}
		}
		status := make([]byte, 4)
		binary.BigEndian.PutUint32(status, code)
		_, _ = ch.SendRequest("exit-status", false, status)
		return
	}
}

// StartAgent runs an ssh-agent holding one new key on a socket of its own
// and returns the socket's path (for SSH_AUTH_SOCK) and the key.
func StartAgent(t testing.TB) (string, ssh.PublicKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	keyring := agent.NewKeyring()
	if err := keyring.Add(agent.AddedKey{PrivateKey: priv}); err != nil {
		t.Fatal(err)
	}
	// Unix socket paths are short: keep it out of a deep temporary folder.
	dir, err := os.MkdirTemp("", "agent")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "s")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = agent.ServeAgent(keyring, c)
			}()
		}
	}()
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return sock, sshPub
}
