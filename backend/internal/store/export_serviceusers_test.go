package store

// ServiceUsersMigration is the migration that made service users of the tokens' subjects.
const ServiceUsersMigration = 8
