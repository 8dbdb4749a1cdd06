module github.com/faxkit/faxkit

go 1.26
