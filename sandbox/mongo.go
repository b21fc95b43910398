package sandbox

import "context"

// mongoReason says why no MongoDB is available (MongoDB backends are not
// built yet).
func mongoReason(ctx context.Context, opts Options) string {
	return "MongoDB support is not built yet: no --mongo-url handling, compose or native mongod backend"
}
