//! Thin helpers over bollard: connect, inspect, pull, build, tag.

use std::collections::HashMap;

use bollard::query_parameters::{
    BuildImageOptions, CreateImageOptions, RemoveImageOptions, TagImageOptions,
};
use bollard::Docker;
use futures_util::StreamExt;

use super::ImagesError;

/// Label carried by every Docker object this project creates.
pub const PROJECT_LABEL: &str = "org.interop-runner";

/// How many lines of build output a failure message repeats.
const OUTPUT_TAIL_LINES: usize = 25;

/// A Docker image ID (`sha256:...`).
pub type ImageId = String;

/// Connects to the local Docker daemon and negotiates the API version (Docker
/// 20.10 rejects bollard's newer default).
pub async fn connect() -> Result<Docker, ImagesError> {
    const HINT: &str = "is the Docker daemon running, and may this user use its socket?";
    let docker = Docker::connect_with_local_defaults().map_err(|e: bollard::errors::Error| {
        ImagesError::DockerUnreachable(format!("{e} ({HINT})"))
    })?;
    let docker = docker
        .negotiate_version()
        .await
        .map_err(|e: bollard::errors::Error| {
            ImagesError::DockerUnreachable(format!("{e} ({HINT})"))
        })?;
    docker.ping().await.map_err(|e: bollard::errors::Error| {
        ImagesError::DockerUnreachable(format!("ping failed: {e} ({HINT})"))
    })?;
    Ok(docker)
}

fn is_not_found(error: &bollard::errors::Error) -> bool {
    matches!(
        error,
        bollard::errors::Error::DockerResponseServerError {
            status_code: 404,
            ..
        }
    )
}

/// The ID of a local image, or `None` when there is no such image.
pub async fn image_id(docker: &Docker, name: &str) -> Result<Option<ImageId>, ImagesError> {
    Ok(inspect(docker, name).await?.map(|(id, _)| id))
}

/// ID and labels of a local image, or `None` when absent.
pub async fn inspect(
    docker: &Docker,
    name: &str,
) -> Result<Option<(ImageId, HashMap<String, String>)>, ImagesError> {
    match docker.inspect_image(name).await {
        Ok(image) => {
            let id = image.id.unwrap_or_default();
            let labels = image
                .config
                .and_then(|config| config.labels)
                .unwrap_or_default();
            Ok(Some((id, labels)))
        }
        Err(e) if is_not_found(&e) => Ok(None),
        Err(e) => Err(ImagesError::docker(format!("inspect image {name}"), e)),
    }
}

/// Splits `repo[:tag]` (a registry port is not a tag) into repo and tag.
pub fn split_reference(reference: &str) -> (&str, &str) {
    let name_start = reference.rfind('/').map_or(0, |slash: usize| slash + 1);
    match reference[name_start..].find(':') {
        Some(colon) => (
            &reference[..name_start + colon],
            &reference[name_start + colon + 1..],
        ),
        None => (reference, "latest"),
    }
}

/// Pulls an image; the error is the daemon's answer, which callers quote
/// as the reason the image could not be had.
pub async fn pull(
    docker: &Docker,
    reference: &str,
    progress: &mut (dyn FnMut(&str) + Send),
) -> Result<(), bollard::errors::Error> {
    let (repo, tag) = split_reference(reference);
    let options = CreateImageOptions {
        from_image: Some(repo.to_string()),
        tag: Some(tag.to_string()),
        ..Default::default()
    };
    let mut stream = docker.create_image(Some(options), None, None);
    let mut last_status = String::new();
    while let Some(item) = stream.next().await {
        let info = item?;
        if let Some(status) = info.status {
            // Layer progress repeats endlessly; report each distinct status once.
            if status != last_status && info.progress_detail.is_none() {
                progress(&format!("pull {reference}: {status}"));
            }
            last_status = status;
        }
    }
    Ok(())
}

/// Gives an existing image another name.
pub async fn tag(docker: &Docker, image: &str, reference: &str) -> Result<(), ImagesError> {
    let (repo, tag) = split_reference(reference);
    let options = TagImageOptions {
        repo: Some(repo.to_string()),
        tag: Some(tag.to_string()),
    };
    docker
        .tag_image(image, Some(options))
        .await
        .map_err(|e: bollard::errors::Error| {
            ImagesError::docker(format!("tag {image} as {reference}"), e)
        })
}

/// Removes an image that a rebuild left without a name. Best effort: an old
/// image still used by a container or another tag stays.
pub async fn remove_if_unused(docker: &Docker, id: &str) {
    let options = RemoveImageOptions {
        force: false,
        noprune: false,
        ..Default::default()
    };
    let _ = docker.remove_image(id, Some(options), None).await;
}

/// Collects the last lines of build output for error messages.
#[derive(Default)]
pub struct OutputTail {
    lines: std::collections::VecDeque<String>,
    step: String,
}

impl OutputTail {
    pub fn push(&mut self, text: &str) {
        for line in text.lines() {
            let line = line.trim_end();
            if line.is_empty() {
                continue;
            }
            if line.starts_with("Step ") {
                self.step = line.to_string();
            }
            if self.lines.len() == OUTPUT_TAIL_LINES {
                self.lines.pop_front();
            }
            self.lines.push_back(line.to_string());
        }
    }

    pub fn step(&self) -> &str {
        if self.step.is_empty() {
            "the start of the build"
        } else {
            &self.step
        }
    }

    pub fn text(&self) -> String {
        self.lines
            .iter()
            .cloned()
            .collect::<Vec<String>>()
            .join("\n")
    }
}

/// Builds an image from a tar'd context, streaming the build output to
/// `progress`, and returns the new image's ID.
pub async fn build_tar(
    docker: &Docker,
    tag: &str,
    tar: Vec<u8>,
    labels: HashMap<String, String>,
    progress: &mut (dyn FnMut(&str) + Send),
) -> Result<ImageId, ImagesError> {
    let options = BuildImageOptions {
        t: Some(tag.to_string()),
        rm: true,
        forcerm: true,
        labels: Some(labels),
        ..Default::default()
    };
    let mut stream = docker.build_image(options, None, Some(bollard::body_full(tar.into())));
    let mut tail = OutputTail::default();
    let mut image: Option<ImageId> = None;
    while let Some(item) = stream.next().await {
        let info = match item {
            Ok(info) => info,
            Err(e) => return Err(build_failure(tag, &tail, e.to_string())),
        };
        if let Some(detail) = info.error_detail {
            let message = detail
                .message
                .unwrap_or_else(|| "unknown error".to_string());
            return Err(build_failure(tag, &tail, message));
        }
        if let Some(text) = info.stream.as_deref() {
            tail.push(text);
            for line in text.lines().filter(|l: &&str| !l.trim().is_empty()) {
                progress(&format!("build {tag}: {}", line.trim_end()));
            }
        }
        if let Some(id) = info.aux.and_then(|aux| aux.id) {
            image = Some(id);
        }
    }
    match image {
        Some(id) => Ok(id),
        // Older daemons report the ID only in the output; the tag is set by now.
        None => image_id(docker, tag)
            .await?
            .ok_or_else(|| build_failure(tag, &tail, "the daemon reported no image".to_string())),
    }
}

fn build_failure(tag: &str, tail: &OutputTail, message: String) -> ImagesError {
    ImagesError::BuildFailed {
        tag: tag.to_string(),
        step: tail.step().to_string(),
        message: message.trim().to_string(),
        output_tail: tail.text(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_reference_handles_tags_and_ports() {
        assert_eq!(split_reference("debian:bookworm"), ("debian", "bookworm"));
        assert_eq!(
            split_reference("aiortc/aioquic-qns"),
            ("aiortc/aioquic-qns", "latest")
        );
        assert_eq!(
            split_reference("localhost:5000/x/y:v1"),
            ("localhost:5000/x/y", "v1")
        );
        assert_eq!(
            split_reference("localhost:5000/x"),
            ("localhost:5000/x", "latest")
        );
    }

    #[test]
    fn output_tail_keeps_last_lines_and_step() {
        let mut tail = OutputTail::default();
        tail.push("Step 1/3 : FROM x\n ---> abc\n");
        for i in 0..40 {
            tail.push(&format!("line {i}\n"));
        }
        tail.push("Step 3/3 : RUN false\n");
        assert_eq!(tail.step(), "Step 3/3 : RUN false");
        let text = tail.text();
        assert_eq!(text.lines().count(), OUTPUT_TAIL_LINES);
        assert!(text.ends_with("Step 3/3 : RUN false"));
        assert!(!text.contains("line 0\n"));
    }
}
