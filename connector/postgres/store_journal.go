package postgres

import "context"

// CommitTimestamps reports whether the database records commit times
// (track_commit_timestamp = on), so claims can return them for the
// journal.
func (s *Store) CommitTimestamps(ctx context.Context) (bool, error) {
	var on bool
	err := s.pool.QueryRow(ctx, "SELECT current_setting('track_commit_timestamp') = 'on'").Scan(&on)
	return on, err
}
