#!/usr/bin/env python3
"""PyTorch reference for `npm run bench -- gpu`: the MNIST DAB-DETR student's shapes and step.

Same model shapes as configs/dab-detr/mnist-student.ts (and --teacher for mnist-teacher.ts):
a ResNet-18-style backbone cut after two stages (stride 8, batch norm), 1x1 input projection
to d=128, post-norm encoder with sine positions, DAB-DETR decoder (4-d anchor queries, sine
query positions through ref_point_head, conditional cross-attention with [content, position]
per head, shared heads, per-layer box refinement with detached references), sigmoid focal +
L1 + GIoU losses on every decoder layer after Hungarian matching (costs 2/5/2, weights 1/5/2),
AdamW (lr 2e-4, wd 1e-4), gradient clipping at 0.1. Random images with 1-3 random boxes.

Prints (and with --json FILE writes) ms per training iteration (synchronised), ms per inference
image, for batch 8 of 64x64 and batch 32 of 256x256. Device: CUDA when available, else CPU.
  python3 bench/torch_dab_detr.py [--teacher] [--iters 20] [--sizes 8x64,32x256] [--json out.json]
"""
import argparse
import json
import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

try:
    from scipy.optimize import linear_sum_assignment
except ImportError:  # the matching is tiny (Q x <=3 per image): brute force over targets' choices
    linear_sum_assignment = None


def assign(cost):
    """Rows (queries) x cols (targets, few): min-cost matching, rows sorted."""
    if linear_sum_assignment is not None:
        r, c = linear_sum_assignment(cost)
        return list(r), list(c)
    q, n = cost.shape
    best, pick = math.inf, None
    import itertools
    for rows in itertools.permutations(range(q), n):
        s = sum(cost[rows[j], j] for j in range(n))
        if s < best:
            best, pick = s, rows
    pairs = sorted((r, j) for j, r in enumerate(pick))
    return [p[0] for p in pairs], [p[1] for p in pairs]


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.down = None
        if stride != 1 or cin != cout:
            self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + (self.down(x) if self.down is not None else x))


class Backbone(nn.Module):
    """ResNet stem + len(blocks) stages of basic blocks; stage i has width * 2^i channels."""

    def __init__(self, width, blocks):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, width, 7, 2, 3, bias=False), nn.BatchNorm2d(width), nn.ReLU(), nn.MaxPool2d(3, 2, 1))
        layers, cin = [], width
        for i, n in enumerate(blocks):
            cout = width * 2 ** i
            for j in range(n):
                layers.append(BasicBlock(cin, cout, 2 if (i > 0 and j == 0) else 1))
                cin = cout
        self.layers = nn.Sequential(*layers)
        self.out_channels = cin

    def forward(self, x):
        return self.layers(self.stem(x))


def sine_embed(pos, d, temperature=10000):
    """pos [..., k] in [0,1] -> [..., k*d/2] (DAB-DETR's gen_sineembed_for_position)."""
    half = d // 2
    dim_t = temperature ** (2 * (torch.arange(half, device=pos.device) // 2) / half)
    p = pos[..., None] * 2 * math.pi / dim_t
    p = torch.stack((p[..., 0::2].sin(), p[..., 1::2].cos()), dim=-1).flatten(-2)
    return p.flatten(-2)


def mlp(i, h, o, n):
    layers = []
    for k in range(n):
        layers += [nn.Linear(i if k == 0 else h, o if k == n - 1 else h)] + ([nn.ReLU()] if k < n - 1 else [])
    return nn.Sequential(*layers)


class EncoderLayer(nn.Module):
    def __init__(self, d, heads, ff):
        super().__init__()
        self.attn = nn.MultiheadAttention(d, heads, batch_first=True)
        self.l1, self.l2 = nn.Linear(d, ff), nn.Linear(ff, d)
        self.n1, self.n2 = nn.LayerNorm(d), nn.LayerNorm(d)

    def forward(self, x, pos, pad):
        q = x + pos
        x = self.n1(x + self.attn(q, q, x, key_padding_mask=pad, need_weights=False)[0])
        return self.n2(x + self.l2(F.relu(self.l1(x))))


class DecoderLayer(nn.Module):
    """Conditional cross-attention as DAB-DETR: per head [content, sine position]."""

    def __init__(self, d, heads, ff, first):
        super().__init__()
        self.d, self.h, self.first = d, heads, first
        names = ['sa_qc', 'sa_qp', 'sa_kc', 'sa_kp', 'sa_v', 'ca_qc', 'ca_kc', 'ca_kp', 'ca_v', 'ca_qsine'] + (['ca_qp'] if first else [])
        self.p = nn.ModuleDict({n: nn.Linear(d, d) for n in names})
        self.sa_out, self.ca_out = nn.Linear(d, d), nn.Linear(d, d)
        self.l1, self.l2 = nn.Linear(d, ff), nn.Linear(ff, d)
        self.n1, self.n2, self.n3 = nn.LayerNorm(d), nn.LayerNorm(d), nn.LayerNorm(d)

    def attend(self, q, k, v, pad=None):
        b, lq, dq = q.shape
        lk = k.shape[1]
        h = self.h
        q = q.view(b, lq, h, dq // h).transpose(1, 2)
        k = k.view(b, lk, h, dq // h).transpose(1, 2)
        v = v.view(b, lk, h, self.d // h).transpose(1, 2)
        s = q @ k.transpose(-1, -2) / math.sqrt(dq // h)
        if pad is not None:
            s = s.masked_fill(pad[:, None, None, :], float('-inf'))
        return (s.softmax(-1) @ v).transpose(1, 2).reshape(b, lq, self.d)

    def forward(self, tgt, qpos, qsine, mem, pos, pad):
        p = self.p
        q = p['sa_qc'](tgt) + p['sa_qp'](qpos)
        k = p['sa_kc'](tgt) + p['sa_kp'](qpos)
        tgt = self.n1(tgt + self.sa_out(self.attend(q, k, p['sa_v'](tgt))))
        qc, kc, kp = p['ca_qc'](tgt), p['ca_kc'](mem), p['ca_kp'](pos)
        if self.first:
            qc, kc = qc + p['ca_qp'](qpos), kc + kp
        b, nq, d = qc.shape
        h = self.h
        qs = torch.cat([qc.view(b, nq, h, d // h), p['ca_qsine'](qsine).view(b, nq, h, d // h)], 3).view(b, nq, 2 * d)
        ks = torch.cat([kc.view(b, -1, h, d // h), kp.view(b, -1, h, d // h)], 3).view(b, -1, 2 * d)
        tgt = self.n2(tgt + self.ca_out(self.attend(qs, ks, p['ca_v'](mem), pad)))
        return self.n3(tgt + self.l2(F.relu(self.l1(tgt))))


class DabDetr(nn.Module):
    def __init__(self, width, blocks, enc, dec, d=128, heads=8, ff=512, queries=50, classes=10):
        super().__init__()
        self.backbone = Backbone(width, blocks)
        self.proj = nn.Conv2d(self.backbone.out_channels, d, 1)
        self.enc = nn.ModuleList([EncoderLayer(d, heads, ff) for _ in range(enc)])
        self.dec = nn.ModuleList([DecoderLayer(d, heads, ff, i == 0) for i in range(dec)])
        self.ref_point_head = mlp(2 * d, d, d, 2)
        self.query_scale = mlp(d, d, d, 2)
        self.ref_anchor_head = mlp(d, d, 2, 2)
        self.class_embed = nn.Linear(d, classes)
        self.bbox_embed = mlp(d, d, 4, 3)
        self.refpoint = nn.Embedding(queries, 4)
        self.d = d
        nn.init.constant_(self.class_embed.bias, -math.log(99))
        nn.init.zeros_(self.bbox_embed[-1].weight)
        nn.init.zeros_(self.bbox_embed[-1].bias)

    def forward(self, images, pad):
        f = self.proj(self.backbone(images))
        b, d, h, w = f.shape
        m = F.interpolate(pad[:, None].float(), size=(h, w)).bool()[:, 0]
        ys, xs = torch.meshgrid(torch.arange(h, device=f.device), torch.arange(w, device=f.device), indexing='ij')
        grid = torch.stack([(xs + 0.5) / w, (ys + 0.5) / h], -1).view(1, h * w, 2).expand(b, -1, -1)
        pos = sine_embed(grid, d)
        mem = f.flatten(2).transpose(1, 2)
        pad = m.flatten(1)
        for layer in self.enc:
            mem = layer(mem, pos, pad)
        ref = self.refpoint.weight.sigmoid()[None].expand(b, -1, -1)
        tgt = torch.zeros(b, ref.shape[1], d, device=f.device)
        logits, boxes = [], []
        for i, layer in enumerate(self.dec):
            sine = sine_embed(ref, d)  # [B,Q,2d]: 64 features per anchor coordinate
            qpos = self.ref_point_head(sine)
            qsine = sine[..., :d] * (self.query_scale(tgt) if i > 0 else 1)
            wh = self.ref_anchor_head(tgt).sigmoid()
            qsine = torch.cat([qsine[..., d // 2:] * (wh[..., 0] / ref[..., 2])[..., None], qsine[..., : d // 2] * (wh[..., 1] / ref[..., 3])[..., None]], -1)
            tgt = layer(tgt, qpos, qsine, mem, pos, pad)
            new_ref = (self.bbox_embed(tgt) + torch.logit(ref, eps=1e-5)).sigmoid()
            logits.append(self.class_embed(tgt))
            boxes.append(new_ref)
            ref = new_ref.detach()
        return logits, boxes


def xyxy(b):
    cx, cy, w, h = b.unbind(-1)
    return torch.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], -1)


def giou(a, b):
    a, b = xyxy(a), xyxy(b)
    area = lambda t: (t[..., 2] - t[..., 0]).clamp(min=0) * (t[..., 3] - t[..., 1]).clamp(min=0)
    lt, rb = torch.max(a[..., :2], b[..., :2]), torch.min(a[..., 2:], b[..., 2:])
    inter = (rb - lt).clamp(min=0).prod(-1)
    union = area(a) + area(b) - inter
    elt, erb = torch.min(a[..., :2], b[..., :2]), torch.max(a[..., 2:], b[..., 2:])
    enc = (erb - elt).clamp(min=0).prod(-1)
    return inter / union - (enc - union) / enc


def pairwise_giou(a, b):
    return giou(a[:, None].expand(-1, b.shape[0], -1), b[None].expand(a.shape[0], -1, -1))


def losses(logits, boxes, targets):
    total = 0
    nb = max(1, sum(len(t[1]) for t in targets))
    for lg, bx in zip(logits, boxes):
        with torch.no_grad():  # matching on the host, as DETR does
            p = lg.sigmoid()
            cls_cost = 0.25 * (1 - p) ** 2 * -(p + 1e-8).log() - 0.75 * p ** 2 * -(1 - p + 1e-8).log()
            idx = []
            for i, (tb, tl) in enumerate(targets):
                c = 2 * cls_cost[i][:, tl] + 5 * torch.cdist(bx[i], tb, p=1) - 2 * pairwise_giou(bx[i], tb)
                idx.append(assign(c.cpu().numpy()))
        onehot = torch.zeros_like(lg)
        src, tgt = [], []
        for i, (r, c) in enumerate(idx):
            onehot[i, r, targets[i][1][c]] = 1
            src.append(bx[i, r])
            tgt.append(targets[i][0][c])
        src, tgt = torch.cat(src), torch.cat(tgt)
        p = lg.sigmoid()
        ce = F.binary_cross_entropy_with_logits(lg, onehot, reduction='none')
        pt = p * onehot + (1 - p) * (1 - onehot)
        focal = (ce * (1 - pt) ** 2 * (0.25 * onehot + 0.75 * (1 - onehot))).mean(1).sum() / nb * lg.shape[1]
        total = total + focal + 5 * (src - tgt).abs().sum() / nb + 2 * (1 - giou(src, tgt)).sum() / nb
    return total


def batch(b, size, device, g):
    images = torch.rand(b, 3, size, size, generator=g).to(device)
    pad = torch.zeros(b, size, size, dtype=torch.bool, device=device)
    targets = []
    for _ in range(b):
        n = int(torch.randint(1, 4, (1,), generator=g))
        c = torch.rand(n, 2, generator=g) * 0.6 + 0.2
        wh = torch.rand(n, 2, generator=g) * 0.2 + 0.1
        targets.append((torch.cat([c, wh], 1).to(device), torch.randint(0, 10, (n,), generator=g).to(device)))
    return images, pad, targets


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--teacher', action='store_true', help='the teacher config (width 32, 3 enc + 4 dec)')
    ap.add_argument('--iters', type=int, default=20)
    ap.add_argument('--json')
    ap.add_argument('--sizes', default='8x64,32x256', help='batch x image size cases, e.g. 8x64')
    a = ap.parse_args()
    device = 'cuda' if torch.cuda.is_available() else 'cpu'
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    name = 'teacher' if a.teacher else 'student'
    rows = []
    for b, size in [tuple(int(v) for v in c.split('x')) for c in a.sizes.split(',')]:
        model = (DabDetr(32, [2, 2], 3, 4) if a.teacher else DabDetr(16, [2, 2], 2, 3)).to(device)
        opt = torch.optim.AdamW(model.parameters(), lr=2e-4, weight_decay=1e-4)
        data = [batch(b, size, device, g) for _ in range(2)]
        sync = torch.cuda.synchronize if device == 'cuda' else (lambda: None)
        times = []
        for i in range(a.iters + 3):
            images, pad, targets = data[i % 2]
            sync()
            t0 = time.perf_counter()
            logits, boxes = model(images, pad)
            loss = losses(logits, boxes, targets)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 0.1)
            opt.step()
            loss_value = loss.item()  # one host read, as detkit's step
            sync()
            if i >= 3:
                times.append((time.perf_counter() - t0) * 1000)
        model.eval()
        infer = []
        with torch.no_grad():
            for i in range(6):
                sync()
                t0 = time.perf_counter()
                logits, boxes = model(data[0][0], data[0][1])
                logits[-1].sigmoid().flatten(1).topk(100)[0].cpu()
                sync()
                if i >= 1:
                    infer.append((time.perf_counter() - t0) * 1000 / b)
        times.sort()
        infer.sort()
        rows.append({'model': name, 'batch': b, 'size': size, 'msPerIter': times[len(times) // 2], 'msPerImage': infer[len(infer) // 2], 'loss': loss_value,
                     'params': sum(p.numel() for p in model.parameters())})
        print(f"pytorch {torch.__version__} {device} {name} {b}x{size}x{size}: {rows[-1]['msPerIter']:.1f} ms/train iter, {rows[-1]['msPerImage']:.2f} ms/image infer ({rows[-1]['params']} params)")
    if a.json:
        with open(a.json, 'w') as f:
            json.dump({'device': device, 'torch': torch.__version__, 'gpu': torch.cuda.get_device_name(0) if device == 'cuda' else None, 'rows': rows}, f, indent=2)


if __name__ == '__main__':
    main()
