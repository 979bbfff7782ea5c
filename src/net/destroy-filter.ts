// A classic BPF socket filter for the destroy-notification socket: the kernel drops, before copying it to
// the agent, every notification whose tcp_info says the connection moved no bytes at all. Such a
// notification can credit nothing (see TrafficAccounting.destroyCounts), and a local user can send tens of
// thousands per second; receiving them was most of what a connection flood cost the agent.
// The program walks the attributes after the 72-byte inet_diag_msg (at most MAX_ATTRIBUTES_BEFORE_INFO
// before INET_DIAG_INFO) and keeps everything it does not recognise: a kernel with another layout only
// loses the saving, never a notification that counts.
import { ptr } from "bun:ffi";
import { getLibc, SOL_SOCKET } from "../util/libc.ts";

const SO_ATTACH_FILTER = 26;
// classic BPF opcodes (linux/filter.h)
const LD_H_ABS = 0x28;
const LD_W_IND = 0x40;
const LD_H_IND = 0x48;
const LD_B_IND = 0x50;
const LDX_IMM = 0x01;
const ADD_K = 0x04;
const ADD_X = 0x0c;
const AND_K = 0x54;
const TAX = 0x07;
const JEQ_K = 0x15;
const JGE_K = 0x35;
const JGT_K = 0x25;
const RET_K = 0x06;
const KEEP = 0xffffffff;
const DROP = 0;

const NLMSG_HDRLEN = 16;
const FIRST_ATTRIBUTE = NLMSG_HDRLEN + 72;
const MAX_ATTRIBUTES_BEFORE_INFO = 4;
// Loads see the packet in network byte order: a little-endian u16 of 2 (INET_DIAG_INFO) or 20 reads swapped.
const SWAPPED_INET_DIAG_INFO = 0x0200;
const SWAPPED_SOCK_DIAG_BY_FAMILY = 0x1400;
// tcp_info offsets (see inet-diag.ts); the attribute must hold bytes_retrans too (Linux 4.19+)
const TCPI_BYTES_RECEIVED = 128;
const TCPI_BYTES_SENT = 200;
const MIN_INFO_ATTRIBUTE_LEN = 4 + 216;

type Insn = [code: number, jt: number, jf: number, k: number];

/** The filter program; jumps are relative, resolved here from labels. */
export function zeroByteDestroyFilter(): Insn[] {
  const prog: (Insn | string)[] = [];
  const jumps: { at: number; jt?: string; jf?: string }[] = [];
  const emit = (code: number, k = 0, jt?: string, jf?: string) => {
    if (jt || jf) jumps.push({ at: prog.length, jt, jf });
    prog.push([code, 0, 0, k]);
  };
  const label = (name: string) => prog.push(name);

  emit(LD_H_ABS, 4); // nlmsg_type
  emit(JEQ_K, SWAPPED_SOCK_DIAG_BY_FAMILY, undefined, "keep");
  emit(LDX_IMM, FIRST_ATTRIBUTE);
  for (let i = 0; i < MAX_ATTRIBUTES_BEFORE_INFO; i++) {
    emit(LD_H_IND, 2); // nla_type
    emit(JEQ_K, SWAPPED_INET_DIAG_INFO, "info");
    emit(LD_B_IND, 1); // nla_len, high byte: attributes before INFO are short
    emit(JEQ_K, 0, undefined, "keep");
    emit(LD_B_IND, 0); // nla_len, low byte
    emit(JGE_K, 4, undefined, "keep");
    emit(ADD_K, 3);
    emit(AND_K, 0xfc);
    emit(ADD_X);
    emit(TAX);
  }
  emit(RET_K, KEEP);
  label("info");
  emit(LD_B_IND, 1);
  emit(JGT_K, 0, "long");
  emit(LD_B_IND, 0);
  emit(JGE_K, MIN_INFO_ATTRIBUTE_LEN, undefined, "keep");
  label("long");
  for (const off of [TCPI_BYTES_RECEIVED, TCPI_BYTES_RECEIVED + 4, TCPI_BYTES_SENT, TCPI_BYTES_SENT + 4]) {
    emit(LD_W_IND, 4 + off);
    emit(JEQ_K, 0, undefined, "keep");
  }
  emit(RET_K, DROP);
  label("keep");
  emit(RET_K, KEEP);

  // labels → relative jump offsets
  const at = new Map<string, number>();
  const insnIndex = new Map<number, number>();
  const out: Insn[] = [];
  prog.forEach((p, i) => {
    if (typeof p === "string") at.set(p, out.length);
    else {
      insnIndex.set(i, out.length);
      out.push(p);
    }
  });
  for (const j of jumps) {
    const i = insnIndex.get(j.at)!;
    const insn = out[i]!;
    if (j.jt) insn[1] = at.get(j.jt)! - i - 1;
    if (j.jf) insn[2] = at.get(j.jf)! - i - 1;
  }
  return out;
}

/** Attaches the filter; false when the kernel refuses it (the agent then filters the same way itself). */
export function attachZeroByteDestroyFilter(fd: number): boolean {
  const insns = zeroByteDestroyFilter();
  const code = new Uint8Array(insns.length * 8);
  const cv = new DataView(code.buffer);
  insns.forEach(([c, jt, jf, k], i) => {
    cv.setUint16(i * 8, c, true);
    cv.setUint8(i * 8 + 2, jt);
    cv.setUint8(i * 8 + 3, jf);
    cv.setUint32(i * 8 + 4, k >>> 0, true);
  });
  const fprog = new Uint8Array(16); // struct sock_fprog on LP64: u16 len, pointer at 8
  const fv = new DataView(fprog.buffer);
  fv.setUint16(0, insns.length, true);
  fv.setBigUint64(8, BigInt(ptr(code)), true);
  return getLibc().setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, fprog, fprog.length) === 0;
}
