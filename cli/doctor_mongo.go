package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver/connstring"

	"github.com/livesync-dev/livesync-dev/connector/mongo"
	"github.com/livesync-dev/livesync-dev/doctor"
)

// runDoctorMongo checks --mongo-url against the mongo section of the
// configuration.
func runDoctorMongo(cmd *cobra.Command, o *doctorOptions) error {
	if o.pgURL != "" {
		return usageError("doctor checks one database per run: run it once with --pg-url and once with --mongo-url")
	}
	stk, err := loadStack(cmd, nil)
	if err != nil {
		return err
	}
	cfg := stk.Config
	cs, err := connstring.Parse(o.mongoURL)
	if err != nil {
		return usageError("--mongo-url: %v (write mongodb://host:27017/database?replicaSet=rs0)", err)
	}
	p := doctor.MongoParams{
		URL: o.mongoURL, Database: cfg.Mongo.Database, Collection: cfg.Mongo.Collection,
		Pipeline: cfg.Mongo.Pipeline, FullDocument: cfg.Mongo.FullDocument, FullDocumentBeforeChange: cfg.Mongo.FullDocumentBeforeChange,
	}
	if cs.Database != "" {
		p.Database = cs.Database
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), doctorTimeout)
	defer cancel()
	checks := doctor.Mongo(ctx, p)
	out := cmd.OutOrStdout()
	if o.json {
		err = writeDoctorJSON(out, checks)
	} else {
		err = writeDoctorText(out, redactMongo(o.mongoURL), "", checks)
	}
	if err != nil {
		return err
	}
	if doctor.Failed(checks) {
		return &ExitError{Code: 1, Err: fmt.Errorf("%d of %d MongoDB checks failed: apply the fix shown with each FAIL and run doctor again", doctor.Count(checks, doctor.Fail), len(checks))}
	}
	return nil
}

// redactMongo hides a URL's password.
func redactMongo(url string) string { return mongo.RedactURL(url) }
