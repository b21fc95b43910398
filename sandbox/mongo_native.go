package sandbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	mongoconn "github.com/livesync-dev/livesync-dev/connector/mongo"
	"github.com/livesync-dev/livesync-dev/pgcluster"
)

// Native mongod layout under .livesync/mongo: data/, mongod.pid, port
// (the replica set's member address includes the port, so a restart reuses
// it), and the log .livesync/mongod.log.
const (
	mongoDir     = "mongo"
	mongoLogFile = "mongod.log"
	mongoReplSet = "rs0"
)

// findMongod looks for mongod on PATH and the usual install places.
func findMongod() (string, string) {
	if p, err := exec.LookPath("mongod"); err == nil {
		return p, ""
	}
	for _, p := range []string{"/usr/bin/mongod", "/usr/local/bin/mongod", "/opt/homebrew/bin/mongod"} {
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, ""
		}
	}
	return "", "mongod not found on PATH, /usr/bin, /usr/local/bin or /opt/homebrew/bin"
}

func nativeMongoPaths(dir string) (base, data, pidFile, portFile, logFile string) {
	base = filepath.Join(dir, DirName, mongoDir)
	return base, filepath.Join(base, "data"), filepath.Join(base, "mongod.pid"), filepath.Join(base, "port"), filepath.Join(dir, DirName, mongoLogFile)
}

// upNativeMongo starts mongod --replSet in its own session (logs to
// .livesync/mongod.log), initiates the single-node replica set, waits for
// it to be primary and provisions it.
func upNativeMongo(ctx context.Context, dir, bin string, o MongoOptions, out io.Writer) (MongoState, error) {
	base, data, pidFile, portFile, logFile := nativeMongoPaths(dir)
	if err := os.MkdirAll(data, 0o700); err != nil {
		return MongoState{}, err
	}
	port := 0
	if b, err := os.ReadFile(portFile); err == nil {
		port, _ = strconv.Atoi(strings.TrimSpace(string(b)))
	}
	if port == 0 {
		p, err := pgcluster.FreePort()
		if err != nil {
			return MongoState{}, err
		}
		port = p
		if err := os.WriteFile(portFile, []byte(strconv.Itoa(port)), 0o600); err != nil {
			return MongoState{}, err
		}
	}
	admin := fmt.Sprintf("mongodb://127.0.0.1:%d/?directConnection=true", port)
	if !mongoAlive(ctx, admin) {
		if err := spawnMongod(ctx, bin, port, data, pidFile, logFile); err != nil {
			return MongoState{}, err
		}
		fmt.Fprintf(out, "mongo: started %s on 127.0.0.1:%d (data %s)\n", bin, port, base)
	}
	if err := initiateReplSet(ctx, admin, port); err != nil {
		return MongoState{}, err
	}
	url, err := provisionMongo(ctx, admin, port, o)
	if err != nil {
		return MongoState{}, err
	}
	return MongoState{Available: true, URL: url, Backend: MongoNative}, nil
}

func spawnMongod(ctx context.Context, bin string, port int, data, pidFile, logFile string) error {
	logf, err := os.OpenFile(logFile, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(bin, "--replSet", mongoReplSet, "--bind_ip", "127.0.0.1", "--port", strconv.Itoa(port),
		"--dbpath", data, "--pidfilepath", pidFile)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	admin := fmt.Sprintf("mongodb://127.0.0.1:%d/?directConnection=true", port)
	deadline := time.Now().Add(60 * time.Second)
	for !mongoAlive(ctx, admin) {
		select {
		case err := <-exited:
			return fmt.Errorf("mongod exited during start-up (%v); %s says:\n%s", err, logFile, tail(logFile, 8))
		case <-ctx.Done():
			_ = cmd.Process.Kill()
			return ctx.Err()
		case <-time.After(200 * time.Millisecond): // no readiness event: poll with ping
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			return fmt.Errorf("mongod did not answer within 60s; see %s", logFile)
		}
	}
	return nil
}

// initiateReplSet runs replSetInitiate once (AlreadyInitialized is fine)
// and waits until this node is the writable primary.
func initiateReplSet(ctx context.Context, admin string, port int) error {
	client, err := mongoconn.Dial(ctx, admin, mongoTimeout)
	if err != nil {
		return err
	}
	defer client.Disconnect(context.WithoutCancel(ctx))
	db := client.Database("admin")
	cfg := bson.D{{Key: "_id", Value: mongoReplSet}, {Key: "members", Value: bson.A{
		bson.D{{Key: "_id", Value: 0}, {Key: "host", Value: fmt.Sprintf("127.0.0.1:%d", port)}}}}}
	err = db.RunCommand(ctx, bson.D{{Key: "replSetInitiate", Value: cfg}}).Err()
	var se mongo.ServerError
	if err != nil && !(errors.As(err, &se) && se.HasErrorCode(23)) {
		return fmt.Errorf("mongo: rs.initiate: %w", err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		var hello struct {
			Primary bool `bson:"isWritablePrimary"`
		}
		if err := db.RunCommand(ctx, bson.D{{Key: "hello", Value: 1}}).Decode(&hello); err == nil && hello.Primary {
			return nil
		}
		if time.Now().After(deadline) {
			return errors.New("mongo: the replica set did not elect this node primary within 60s")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond): // no election event to await
		}
	}
}

// downNativeMongo stops the mongod whose pid file the sandbox wrote, after
// checking the pid is still that mongod (pids are reused); purge deletes
// its data.
func downNativeMongo(ctx context.Context, dir string, purge bool) error {
	base, data, pidFile, _, _ := nativeMongoPaths(dir)
	if b, err := os.ReadFile(pidFile); err == nil {
		pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		if pid > 0 && ownsMongod(pid, data) {
			_ = syscall.Kill(pid, syscall.SIGTERM)
			deadline := time.Now().Add(30 * time.Second)
			for syscall.Kill(pid, 0) == nil && !zombie(pid) && time.Now().Before(deadline) {
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(100 * time.Millisecond): // no exit event for a non-child
				}
			}
		}
	}
	if purge {
		return os.RemoveAll(base)
	}
	return nil
}

// ownsMongod checks /proc/PID/cmdline is mongod with our --dbpath.
func ownsMongod(pid int, data string) bool {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
	if err != nil {
		return false
	}
	args := bytes.Split(bytes.TrimRight(b, "\x00"), []byte{0})
	for i, a := range args {
		if string(a) == "--dbpath" && i+1 < len(args) && string(args[i+1]) == data {
			return true
		}
	}
	return false
}
