// A video as points in time: each sampled frame is a point (its `image` vector); each segment of the
// audio track joins the frame nearest its start when that frame is close enough and has no audio
// yet, else it is a point of its own. So a frame query and a spoken-phrase query both land on a
// moment of the video, and a video is as many points as it has distinct moments.
import type { TimedVector } from './media-encoder.ts';

export interface TimelinePoint {
  /** Seconds from the start of the video: the frame's time, or the audio segment's start. */
  readonly atSeconds: number;
  readonly image?: Float32Array;
  readonly audio?: Float32Array;
}

/** Half the closest spacing of two frames, at most this: how far an audio segment may join a frame. */
const MAX_JOIN_SECONDS = 0.5;

export function videoTimeline(frames: readonly TimedVector[], audio: readonly TimedVector[]): TimelinePoint[] {
  const points: Array<{ atSeconds: number; image?: Float32Array; audio?: Float32Array }> = [...frames]
    .sort((a, b) => a.atSeconds - b.atSeconds)
    .map((f) => ({ atSeconds: f.atSeconds, image: f.vector }));
  let spacing = Infinity;
  for (let i = 1; i < points.length; i++) spacing = Math.min(spacing, points[i]!.atSeconds - points[i - 1]!.atSeconds);
  const tolerance = Math.min(MAX_JOIN_SECONDS, spacing / 2);
  const own: typeof points = [];
  for (const segment of audio) {
    const nearest = nearestPoint(points, segment.atSeconds);
    if (nearest && !nearest.audio && Math.abs(nearest.atSeconds - segment.atSeconds) <= tolerance) nearest.audio = segment.vector;
    else own.push({ atSeconds: segment.atSeconds, audio: segment.vector });
  }
  return [...points, ...own].sort((a, b) => a.atSeconds - b.atSeconds);
}

function nearestPoint<T extends { atSeconds: number }>(points: readonly T[], atSeconds: number): T | undefined {
  let best: T | undefined;
  for (const point of points) if (!best || Math.abs(point.atSeconds - atSeconds) < Math.abs(best.atSeconds - atSeconds)) best = point;
  return best;
}
