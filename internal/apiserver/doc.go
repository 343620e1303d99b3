// Package apiserver is skiff's Kubernetes REST front end: it turns HTTPS requests into calls on
// the registry and answers in the formats clients expect.
//
// A request goes through ServeHTTP in this order:
//
//  1. request info: ParseRequestInfo reads the path and method into group, version, namespace,
//     resource, name, subresource and verb, as upstream's resolver does;
//  2. authentication (Config.Authenticate), impersonation, then authorization
//     (Config.Authorizer), answering 401 and 403 with upstream's messages;
//  3. routing: /version, health, /metrics, /openapi, discovery, extra handlers, or a resource;
//  4. for a resource: content negotiation (JSON, YAML, protobuf; Table and
//     PartialObjectMetadata transformations), decoding with fieldValidation, then the verb's
//     handler on the registry Store, which applies defaults, the strategy, admission,
//     validation and storage;
//  5. the response, errors always as a metav1.Status built with apimachinery's api/errors;
//  6. the audit event and the request metrics.
//
// Watches stream one frame per event (JSON lines, or length-prefixed protobuf for clients that
// prefer it), encoding each object once for all watchers, and end when the client goes, the
// timeout passes or Shutdown is called. Lists stream item by item.
//
// The package decides nothing about objects: semantics live in internal/registry, storage in
// internal/storage.
package apiserver
