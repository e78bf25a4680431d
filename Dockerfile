# payctl in a container: one static binary (CGO_ENABLED=0) on distroless's
# static image, which has CA certificates and runs as a non-root user.
#   docker build --build-arg VERSION=v1.2.0 -t payctl .
#   docker run --rm -v "$PWD:/work" -w /work payctl plan payouts/
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=
RUN CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -buildid= -X main.version=${VERSION} -X main.commitStamp=${COMMIT}" \
      -o /out/payctl ./cmd/payctl \
 && /out/payctl version

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/payctl /usr/local/bin/payctl
USER nonroot:nonroot
WORKDIR /work
# payctl serve and watch -listen; bind 0.0.0.0 inside the container and
# set PAYCTL_STATUS_TOKEN to serve the status page.
EXPOSE 8787
ENTRYPOINT ["/usr/local/bin/payctl"]
CMD ["help"]
