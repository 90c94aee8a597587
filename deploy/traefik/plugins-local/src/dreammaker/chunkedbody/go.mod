module dreammaker/chunkedbody

go 1.22
