module github.com/payctl/payctl/internal/bench/schemav5

go 1.26.0

require github.com/santhosh-tekuri/jsonschema/v5 v5.3.1
