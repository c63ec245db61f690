# syntax=docker/dockerfile:1
# efssync as a container image, for Kubernetes Jobs: a migration pass per
# Job run (or per index of an Indexed Job), an S3 archive or restore job.
# Build from the repository root:
#
#   docker build -t efssync \
#     --build-arg VERSION="$(git describe --tags --always)" \
#     --build-arg COMMIT="$(git rev-parse HEAD)" .
#
# The image holds the static binary on distroless's static base (no shell,
# no package manager) and runs as the non-root user 65532. Mount:
#   - the configuration at /etc/efssync/config.yaml (a ConfigMap);
#   - a persistent volume at /var/lib/efssync: the manifest lives there, and
#     without it every Job run copies everything again;
#   - the source and destination trees where the configuration names them.
# As non-root, efssync cannot give copied files their source owners (it
# keeps modes and times); run the Job as root with CAP_CHOWN and CAP_FOWNER
# where owners must be kept. Buckets need no mount: credentials come from
# the AWS chain (IRSA / Pod Identity, or the environment).

ARG GO_VERSION=1.26.8

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION}-bookworm AS build
ARG TARGETOS=linux
ARG TARGETARCH
ARG VERSION=dev
ARG COMMIT=unknown
ARG DATE=unknown
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH go build -trimpath \
      -ldflags "-s -w -X main.version=$VERSION -X main.commit=$COMMIT -X main.date=$DATE" \
      -o /out/efssync ./cmd/efssync \
 && mkdir -p /out/state

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/efssync /usr/bin/efssync
# An empty state directory owned by the runtime user, for when no volume
# is mounted there (a dry run, a one-off check).
COPY --from=build --chown=65532:65532 /out/state /var/lib/efssync
# efssync keeps its manifest and reports under $STATE_DIRECTORY, as under
# systemd's StateDirectory=.
ENV STATE_DIRECTORY=/var/lib/efssync
VOLUME ["/var/lib/efssync"]
USER 65532:65532
ENTRYPOINT ["/usr/bin/efssync"]
CMD ["run", "--config", "/etc/efssync/config.yaml"]
