# syntax=docker/dockerfile:1
#
# Selectune service image.
#
#   CPU (default):  docker build -t selectune .
#   CUDA 12.8:      docker build -t selectune:cu128 --build-arg FLAVOR=cu128 .
#
# FLAVOR picks the runtime base (stage base-${FLAVOR}) and the libtorch build DJL gets. The CUDA image fetches
# DJL's cu128 libtorch at BUILD time, so a GPU container starts with no network access. CUDA_IMAGE and JRE_IMAGE
# may be overridden (e.g. another 12.8 runtime tag), JDK_IMAGE for the build stage.
ARG FLAVOR=cpu
ARG JDK_IMAGE=eclipse-temurin:17-jdk-jammy
ARG JRE_IMAGE=eclipse-temurin:17-jre-jammy
ARG CUDA_IMAGE=nvidia/cuda:12.8.1-runtime-ubuntu22.04

# ---- build: the Spring Boot jar, and the libtorch fetch helper compiled against its dependencies -------------
FROM ${JDK_IMAGE} AS build
WORKDIR /src
COPY mvnw pom.xml ./
COPY .mvn .mvn
COPY src src
# The Maven repository is a BuildKit cache mount: a source change does not download the dependencies again.
RUN --mount=type=cache,target=/root/.m2 ./mvnw -B -ntp -Dmaven.test.skip=true package \
 && mkdir -p /out/deps \
 && cd /out/deps && jar xf /src/target/selectune.jar BOOT-INF/lib && mv BOOT-INF/lib/* . && rm -r BOOT-INF \
 && cp /src/target/selectune.jar /out/selectune.jar
COPY deploy/docker/FetchLibtorch.java /out/fetch/
RUN javac -d /out/fetch -cp '/out/deps/*' /out/fetch/FetchLibtorch.java

# ---- runtime bases: Temurin's JRE on Ubuntu, or NVIDIA's CUDA runtime with the same JRE copied in ------------
FROM ${JRE_IMAGE} AS jre

FROM jre AS base-cpu

FROM ${CUDA_IMAGE} AS base-cu128
COPY --from=jre /opt/java/openjdk /opt/java/openjdk
ENV JAVA_HOME=/opt/java/openjdk \
    PATH=/opt/java/openjdk/bin:$PATH \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility

FROM base-${FLAVOR} AS base

# ---- libtorch: DJL's native PyTorch of the chosen flavor, into /opt/djl/engines ------------------------------
FROM base AS libtorch
ARG FLAVOR
COPY --from=build /out/deps /tmp/deps
COPY --from=build /out/fetch /tmp/fetch
# For cu128 the bundled CPU libtorch must be off the classpath, or DJL takes it and never reads PYTORCH_FLAVOR.
# FetchLibtorch fails the build if DJL falls back to CPU; it prints the folder it filled on its last line.
RUN set -eu; \
    if [ "$FLAVOR" = cpu ]; then cp=$(ls /tmp/deps/*.jar | paste -sd:); \
    else cp=$(ls /tmp/deps/*.jar | grep -v '/pytorch-native-cpu-' | paste -sd:); fi; \
    mkdir -p /opt/djl; \
    ENGINE_CACHE_DIR=/opt/djl/engines PYTORCH_FLAVOR=$FLAVOR java -Dai.djl.offline=false \
        -cp "/tmp/fetch:$cp" FetchLibtorch > /tmp/fetch.out; \
    ln -s "$(tail -n 1 /tmp/fetch.out)" /opt/djl/libtorch; \
    ls -l /opt/djl/libtorch/

# ---- runtime ---------------------------------------------------------------------------------------------------
FROM base AS runtime
ARG FLAVOR
LABEL org.opencontainers.image.title="Selectune" \
      org.opencontainers.image.description="Memory-efficient DreamBooth-LoRA fine-tuning service (BP-low / ZO-high)"

# curl for the health check only.
RUN apt-get update \
 && apt-get install -y --no-install-recommends curl ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 selectune \
 && useradd --system --uid 10001 --gid selectune --home-dir /var/lib/selectune --create-home selectune \
 && mkdir -p /var/lib/selectune/data /var/cache/djl /models \
 && chown -R selectune:selectune /var/lib/selectune /var/cache/djl

COPY --from=libtorch --chown=selectune:selectune /opt/djl /opt/djl
COPY --from=build /out/selectune.jar /app/selectune.jar

# The engine folder lives in the image (not in a volume), so a new image never runs an old volume's libtorch.
# PYTORCH_LIBRARY_PATH points DJL at it directly: with the CPU libtorch bundled in the jar, DJL would otherwise
# pick that one even on a GPU host. PYTORCH_FLAVOR names the JNI library DJL takes from the jar (cu128 or cpu);
# it is writable by the service user so DJL can extract that JNI library there, offline, if the build could not.
# ai.djl.offline=true: nothing is downloaded at run time. OMP_WAIT_POLICY=PASSIVE: libtorch's OpenMP threads
# sleep instead of spinning between ops, which matters whenever threads outnumber cores (see nn/OpenMp.java).
ENV PYTORCH_FLAVOR=${FLAVOR} \
    OMP_WAIT_POLICY=PASSIVE \
    PYTORCH_LIBRARY_PATH=/opt/djl/libtorch \
    ENGINE_CACHE_DIR=/opt/djl/engines \
    DJL_CACHE_DIR=/var/cache/djl \
    SELECTUNE_DATA_DIR=/var/lib/selectune/data \
    SERVER_PORT=8080 \
    JAVA_OPTS="-XX:MaxRAMPercentage=25 -XX:+ExitOnOutOfMemoryError -Dai.djl.offline=true"

# data: the embedded database (when no external PostgreSQL is configured) and caches;
# /var/cache/djl: anything else DJL caches; /models: the Stable Diffusion folders named in SELECTUNE_MODELS.
VOLUME ["/var/lib/selectune/data", "/var/cache/djl", "/models"]
EXPOSE 8080
USER selectune:selectune
WORKDIR /var/lib/selectune

# Liveness group: the process is up and its workers are not wedged. Model loading can take minutes on first start.
HEALTHCHECK --interval=30s --timeout=5s --start-period=180s --retries=3 \
    CMD curl -fsS "http://127.0.0.1:${SERVER_PORT}/actuator/health/liveness" > /dev/null || exit 1

ENTRYPOINT ["sh", "-c", "exec java $JAVA_OPTS -jar /app/selectune.jar \"$@\"", "selectune"]
CMD ["serve"]
