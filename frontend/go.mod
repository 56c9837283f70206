module github.com/codemetrics/codemetrics/frontend

go 1.26
