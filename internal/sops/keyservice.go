package sops

import (
	"context"
	"errors"
	"fmt"

	sopsage "github.com/getsops/sops/v3/age"
	"github.com/getsops/sops/v3/keyservice"
	"google.golang.org/grpc"
)

// ageKeyService wraps and unwraps sops data keys with age, using only the
// identities it was given.
//
// The library's own local key service builds a fresh age master key per
// request, and such a key reads $SOPS_AGE_KEY, $SOPS_AGE_KEY_FILE, the user
// config dir and ~/.ssh from the process environment. Handing the library
// this service instead keeps every key explicit: the identities are injected
// into each master key with ParsedIdentities.ApplyToMasterKey, which makes it
// skip its own lookup. The library still does the rest (Shamir splitting
// across key groups, trying each key of a group, error reports per group).
type ageKeyService struct {
	ids sopsage.ParsedIdentities
}

var _ keyservice.KeyServiceClient = ageKeyService{}

// Encrypt wraps a data key (or a Shamir share of it) for one age recipient.
func (s ageKeyService) Encrypt(_ context.Context, req *keyservice.EncryptRequest, _ ...grpc.CallOption) (*keyservice.EncryptResponse, error) {
	k := req.GetKey().GetAgeKey()
	if k == nil {
		return nil, errUnsupportedKey(req.GetKey())
	}
	mk, err := sopsage.MasterKeyFromRecipient(k.GetRecipient())
	if err != nil {
		return nil, err
	}
	if err := mk.Encrypt(req.GetPlaintext()); err != nil {
		return nil, err
	}
	return &keyservice.EncryptResponse{Ciphertext: mk.EncryptedDataKey()}, nil
}

// Decrypt unwraps a data key with the service's identities.
func (s ageKeyService) Decrypt(_ context.Context, req *keyservice.DecryptRequest, _ ...grpc.CallOption) (*keyservice.DecryptResponse, error) {
	k := req.GetKey().GetAgeKey()
	if k == nil {
		return nil, errUnsupportedKey(req.GetKey())
	}
	if len(s.ids) == 0 {
		// Without identities the master key would fall back to reading
		// the process environment.
		return nil, errors.New("no age identities given")
	}
	mk := &sopsage.MasterKey{Recipient: k.GetRecipient(), EncryptedKey: string(req.GetCiphertext())}
	s.ids.ApplyToMasterKey(mk)
	plain, err := mk.Decrypt()
	if err != nil {
		return nil, err
	}
	return &keyservice.DecryptResponse{Plaintext: plain}, nil
}

func errUnsupportedKey(k *keyservice.Key) error {
	kind := "unknown"
	switch {
	case k.GetPgpKey() != nil:
		kind = "pgp"
	case k.GetKmsKey() != nil:
		kind = "aws kms"
	case k.GetGcpKmsKey() != nil:
		kind = "gcp kms"
	case k.GetAzureKeyvaultKey() != nil:
		kind = "azure key vault"
	case k.GetVaultKey() != nil:
		kind = "hashicorp vault"
	case k.GetHckmsKey() != nil:
		kind = "huaweicloud kms"
	}
	return fmt.Errorf("%s keys are not supported, only age; use the sops CLI for this file", kind)
}
