// Package serviceaccount issues and verifies bound service account tokens, upstream's
// pkg/serviceaccount: JWTs signed with the server's service account key (ES256), carrying the
// standard claims (iss, sub, aud, exp, iat, nbf, jti) and the private "kubernetes.io" claim
// that names the namespace, the ServiceAccount and the object the token is bound to (a Pod, a
// Secret or a Node).
//
// The server loads its key with LoadOrCreateKey, builds an Issuer for TokenRequests
// (serviceaccounts/<name>/token) and an Authenticator for bearer tokens. The Authenticator
// accepts a token only while it is unexpired, meant for one of the API server's audiences,
// signed by the key, and every object it names still exists with the UID it was issued for.
package serviceaccount
