package mongo

import (
	"errors"
	"fmt"
)

// LiveSync error codes of the MongoDB connector (connector spec §5).
const (
	// CodeInternal is an unexpected internal error.
	CodeInternal = 72000
	// CodePublish: a change was read but could not be published.
	CodePublish = 72001
	// CodeStream: the database or the change stream cannot be started.
	CodeStream = 72003
	// CodeNoChannel: the event has no _ablyChannel on its root.
	CodeNoChannel = 72004
	// CodePipeline: the rule's pipeline is invalid.
	CodePipeline = 72005
	// CodeTokenRead: the stored resume token cannot be read.
	CodeTokenRead = 72006
	// CodeTokenStore: the resume token cannot be stored.
	CodeTokenStore = 72007
	// CodeHistoryLost: the resume token is no longer in the oplog.
	CodeHistoryLost = 72008
)

// Error is a connector error with its LiveSync code.
type Error struct {
	// Code is one of the Code* constants.
	Code int
	// Message is the LiveSync message form, e.g. "invalid pipeline: ...".
	Message string
	// Err is the cause, if any.
	Err error
}

// Error implements error.
func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%d: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%d: %s", e.Code, e.Message)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// CodeOf returns the LiveSync code carried by err, or 0.
func CodeOf(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return 0
}

// ErrHistoryLost is what a Source returns (wrapped) when the server no
// longer holds the history the resume token points into.
var ErrHistoryLost = errors.New("change stream history lost")

// ErrTokenUnreadable is what a TokenStore returns (wrapped) when the stored
// document is not a resume token.
var ErrTokenUnreadable = errors.New("stored resume token unreadable")
