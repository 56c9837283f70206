package store

import "database/sql"

// SQL is the wrapped database/sql handle under the store's GORM, for tests that send
// statements around GORM.
func (s *Store) SQL() *sql.DB { return s.sql }
