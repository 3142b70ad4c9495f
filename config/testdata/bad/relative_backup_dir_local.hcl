storage "primary" {
  type = "local"
  path = "/srv/dbops"
}
repository {
  storage    = "primary"
  passphrase = env("DBOPS_TEST_UNSET_PASSPHRASE")
}
policy "standard" {
  full         = "monthly"
  differential = "biweekly"
}
database "datahub" {
  engine           = "sqlserver"
  dsn              = "sqlserver://dbops@10.1.1.13?database=datahub"
  policy           = "standard"
  backup_dir       = "\\\\fs1\\dbops"
  backup_dir_local = "mnt/dbops"
}
