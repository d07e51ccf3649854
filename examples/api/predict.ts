import { loadDetector } from '@detkit/core';

const detector = await loadDetector('configs/dab-detr/mnist-teacher.ts', 'checkpoints/dab-detr-mnist-teacher.safetensors');
const [detections] = await detector.predict(process.argv[2]!, { scoreThreshold: 0.5 });
for (const d of detections!) console.log(d.className, d.score.toFixed(2), d.box.map((v) => v.toFixed(1)).join(' '));
