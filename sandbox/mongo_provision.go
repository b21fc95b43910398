package sandbox

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	mongoconn "github.com/livesync-dev/livesync-dev/connector/mongo"
)

// Mongo provisioning names: the connector's role and user in the watched
// database, as the LiveSync docs ask (read + changeStream on the database,
// read/write on its "ably" collection).
const (
	// MongoRole is the connector's role in the watched database.
	MongoRole = "livesyncConnector"
	// MongoUser is the connector's user (password generated per provisioning).
	MongoUser = "livesync_user"
)

// mongoRoleDoc is the role's privileges.
func mongoRoleDoc(db string) (bson.A, bson.A) {
	privileges := bson.A{
		bson.D{{Key: "resource", Value: bson.D{{Key: "db", Value: db}, {Key: "collection", Value: ""}}},
			{Key: "actions", Value: bson.A{"find", "changeStream"}}},
		bson.D{{Key: "resource", Value: bson.D{{Key: "db", Value: db}, {Key: "collection", Value: mongoconn.TokenCollection}}},
			{Key: "actions", Value: bson.A{"find", "insert", "update", "remove", "createCollection"}}},
	}
	roles := bson.A{bson.D{{Key: "role", Value: "read"}, {Key: "db", Value: db}}}
	return privileges, roles
}

// provisionMongo creates (or updates) the role and user, the watched
// collection (with pre/post images when asked) and the token collection,
// over adminURL, and returns the connector's URL with its credentials.
func provisionMongo(ctx context.Context, adminURL string, port int, o MongoOptions) (string, error) {
	client, err := mongoconn.Dial(ctx, adminURL, mongoTimeout)
	if err != nil {
		return "", err
	}
	defer client.Disconnect(context.WithoutCancel(ctx))
	db := client.Database(o.Database)
	privileges, inherited := mongoRoleDoc(o.Database)
	err = db.RunCommand(ctx, bson.D{{Key: "createRole", Value: MongoRole}, {Key: "privileges", Value: privileges}, {Key: "roles", Value: inherited}}).Err()
	if exists(err) {
		err = db.RunCommand(ctx, bson.D{{Key: "updateRole", Value: MongoRole}, {Key: "privileges", Value: privileges}, {Key: "roles", Value: inherited}}).Err()
	}
	if err != nil {
		return "", fmt.Errorf("mongo: create role %s: %w", MongoRole, err)
	}
	pw := make([]byte, 12)
	_, _ = rand.Read(pw)
	password := hex.EncodeToString(pw)
	user := bson.D{{Key: "pwd", Value: password}, {Key: "roles", Value: bson.A{MongoRole}}}
	err = db.RunCommand(ctx, append(bson.D{{Key: "createUser", Value: MongoUser}}, user...)).Err()
	if exists(err) {
		err = db.RunCommand(ctx, append(bson.D{{Key: "updateUser", Value: MongoUser}}, user...)).Err()
	}
	if err != nil {
		return "", fmt.Errorf("mongo: create user %s: %w", MongoUser, err)
	}
	for _, c := range []struct {
		name   string
		images bool
	}{{o.Collection, o.PrePostImages}, {mongoconn.TokenCollection, false}} {
		cmd := bson.D{{Key: "create", Value: c.name}}
		if c.images {
			cmd = append(cmd, bson.E{Key: "changeStreamPreAndPostImages", Value: bson.D{{Key: "enabled", Value: true}}})
		}
		err := db.RunCommand(ctx, cmd).Err()
		if exists(err) && c.images {
			err = db.RunCommand(ctx, bson.D{{Key: "collMod", Value: c.name}, {Key: "changeStreamPreAndPostImages", Value: bson.D{{Key: "enabled", Value: true}}}}).Err()
		}
		if err != nil && !exists(err) {
			return "", fmt.Errorf("mongo: create collection %s: %w", c.name, err)
		}
	}
	return fmt.Sprintf("mongodb://%s:%s@127.0.0.1:%d/%s?directConnection=true&authSource=%s", MongoUser, password, port, o.Database, o.Database), nil
}

// exists reports "already exists" server errors (role/user 51002/51003,
// collection 48 NamespaceExists).
func exists(err error) bool {
	var se mongo.ServerError
	return errors.As(err, &se) && (se.HasErrorCode(51002) || se.HasErrorCode(51003) || se.HasErrorCode(48))
}
