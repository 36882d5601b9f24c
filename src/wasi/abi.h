// WASI preview1 ABI: errno numbers, flags, rights and the guest-memory layout
// of every struct wink reads or writes, as in wasi-libc's <wasi/api.h>
// (/usr/include/wasm32-wasi/wasi/api.h, witx-generated) which cannot be
// included on the host because its structs hold 32-bit guest pointers.
#pragma once

#include <cstdint>

namespace wink::wasi::abi {

enum Errno : uint16_t {
  kSuccess = 0,
  k2Big = 1,
  kAcces = 2,
  kAddrInUse = 3,
  kAddrNotAvail = 4,
  kAfNoSupport = 5,
  kAgain = 6,
  kAlready = 7,
  kBadf = 8,
  kBadMsg = 9,
  kBusy = 10,
  kCanceled = 11,
  kChild = 12,
  kConnAborted = 13,
  kConnRefused = 14,
  kConnReset = 15,
  kDeadlk = 16,
  kDestAddrReq = 17,
  kDom = 18,
  kDquot = 19,
  kExist = 20,
  kFault = 21,
  kFbig = 22,
  kHostUnreach = 23,
  kIdrm = 24,
  kIlseq = 25,
  kInProgress = 26,
  kIntr = 27,
  kInval = 28,
  kIo = 29,
  kIsConn = 30,
  kIsDir = 31,
  kLoop = 32,
  kMfile = 33,
  kMlink = 34,
  kMsgSize = 35,
  kMultihop = 36,
  kNameTooLong = 37,
  kNetDown = 38,
  kNetReset = 39,
  kNetUnreach = 40,
  kNfile = 41,
  kNoBufs = 42,
  kNoDev = 43,
  kNoEnt = 44,
  kNoExec = 45,
  kNoLck = 46,
  kNoLink = 47,
  kNoMem = 48,
  kNoMsg = 49,
  kNoProtoOpt = 50,
  kNoSpc = 51,
  kNoSys = 52,
  kNotConn = 53,
  kNotDir = 54,
  kNotEmpty = 55,
  kNotRecoverable = 56,
  kNotSock = 57,
  kNotSup = 58,
  kNotTy = 59,
  kNxio = 60,
  kOverflow = 61,
  kOwnerDead = 62,
  kPerm = 63,
  kPipe = 64,
  kProto = 65,
  kProtoNoSupport = 66,
  kProtoType = 67,
  kRange = 68,
  kRofs = 69,
  kSpipe = 70,
  kSrch = 71,
  kStale = 72,
  kTimedOut = 73,
  kTxtBsy = 74,
  kXdev = 75,
  kNotCapable = 76,
};

enum ClockId : uint32_t { kRealtime = 0, kMonotonic = 1, kProcessCputime = 2, kThreadCputime = 3 };

enum FileType : uint8_t {
  kUnknown = 0,
  kBlockDevice = 1,
  kCharacterDevice = 2,
  kDirectory = 3,
  kRegularFile = 4,
  kSocketDgram = 5,
  kSocketStream = 6,
  kSymbolicLink = 7,
};

enum Whence : uint8_t { kSet = 0, kCur = 1, kEnd = 2 };

// rights
constexpr uint64_t kRightFdDatasync = 1ull << 0;
constexpr uint64_t kRightFdRead = 1ull << 1;
constexpr uint64_t kRightFdSeek = 1ull << 2;
constexpr uint64_t kRightFdFdstatSetFlags = 1ull << 3;
constexpr uint64_t kRightFdSync = 1ull << 4;
constexpr uint64_t kRightFdTell = 1ull << 5;
constexpr uint64_t kRightFdWrite = 1ull << 6;
constexpr uint64_t kRightFdAdvise = 1ull << 7;
constexpr uint64_t kRightFdAllocate = 1ull << 8;
constexpr uint64_t kRightPathCreateDirectory = 1ull << 9;
constexpr uint64_t kRightPathCreateFile = 1ull << 10;
constexpr uint64_t kRightPathLinkSource = 1ull << 11;
constexpr uint64_t kRightPathLinkTarget = 1ull << 12;
constexpr uint64_t kRightPathOpen = 1ull << 13;
constexpr uint64_t kRightFdReaddir = 1ull << 14;
constexpr uint64_t kRightPathReadlink = 1ull << 15;
constexpr uint64_t kRightPathRenameSource = 1ull << 16;
constexpr uint64_t kRightPathRenameTarget = 1ull << 17;
constexpr uint64_t kRightPathFilestatGet = 1ull << 18;
constexpr uint64_t kRightPathFilestatSetSize = 1ull << 19;
constexpr uint64_t kRightPathFilestatSetTimes = 1ull << 20;
constexpr uint64_t kRightFdFilestatGet = 1ull << 21;
constexpr uint64_t kRightFdFilestatSetSize = 1ull << 22;
constexpr uint64_t kRightFdFilestatSetTimes = 1ull << 23;
constexpr uint64_t kRightPathSymlink = 1ull << 24;
constexpr uint64_t kRightPathRemoveDirectory = 1ull << 25;
constexpr uint64_t kRightPathUnlinkFile = 1ull << 26;
constexpr uint64_t kRightPollFdReadwrite = 1ull << 27;
constexpr uint64_t kRightSockShutdown = 1ull << 28;
constexpr uint64_t kRightSockAccept = 1ull << 29;
constexpr uint64_t kRightsAll = (1ull << 30) - 1;
// A directory descriptor never carries the rights that only make sense on a
// byte stream (as in wasmtime; the WASI testsuite checks that a directory
// has no FD_SEEK). Its inheriting rights stay kRightsAll.
constexpr uint64_t kDirectoryRights =
    kRightsAll & ~(kRightFdRead | kRightFdSeek | kRightFdTell | kRightFdWrite | kRightFdAdvise |
                   kRightFdAllocate | kRightFdFilestatSetSize);

// fdflags
constexpr uint16_t kFdflagAppend = 1 << 0;
constexpr uint16_t kFdflagDsync = 1 << 1;
constexpr uint16_t kFdflagNonblock = 1 << 2;
constexpr uint16_t kFdflagRsync = 1 << 3;
constexpr uint16_t kFdflagSync = 1 << 4;
constexpr uint16_t kFdflagsAll = (1 << 5) - 1;

// fstflags
constexpr uint16_t kFstAtim = 1 << 0;
constexpr uint16_t kFstAtimNow = 1 << 1;
constexpr uint16_t kFstMtim = 1 << 2;
constexpr uint16_t kFstMtimNow = 1 << 3;

// lookupflags
constexpr uint32_t kLookupSymlinkFollow = 1 << 0;

// oflags
constexpr uint16_t kOflagCreat = 1 << 0;
constexpr uint16_t kOflagDirectory = 1 << 1;
constexpr uint16_t kOflagExcl = 1 << 2;
constexpr uint16_t kOflagTrunc = 1 << 3;

// advice
constexpr uint8_t kAdviceNoreuse = 5;  // highest valid value

// eventtype / event flags / subscription clock flags
enum EventType : uint8_t { kEventClock = 0, kEventFdRead = 1, kEventFdWrite = 2 };
constexpr uint16_t kEventRwHangup = 1 << 0;
constexpr uint16_t kSubclockAbstime = 1 << 0;

constexpr uint8_t kPreopenTypeDir = 0;

// Struct layouts (byte offsets in guest memory).
namespace iovec {  // iovec and ciovec: 8 bytes
constexpr uint32_t kSize = 8, kBuf = 0, kLen = 4;
}
namespace dirent {  // followed by d_namlen name bytes (no NUL)
constexpr uint32_t kSize = 24, kNext = 0, kIno = 8, kNamlen = 16, kType = 20;
}
namespace fdstat {
constexpr uint32_t kSize = 24, kFiletype = 0, kFlags = 2, kRightsBase = 8, kRightsInheriting = 16;
}
namespace filestat {
constexpr uint32_t kSize = 64, kDev = 0, kIno = 8, kFiletype = 16, kNlink = 24, kFileSize = 32,
                   kAtim = 40, kMtim = 48, kCtim = 56;
}
namespace prestat {
constexpr uint32_t kSize = 8, kTag = 0, kNameLen = 4;
}
namespace subscription {  // 48 bytes: userdata, then a tagged union at 8 (payload at 16)
constexpr uint32_t kSize = 48, kUserdata = 0, kTag = 8, kClockId = 16, kClockTimeout = 24,
                   kClockPrecision = 32, kClockFlags = 40, kFd = 16;
}
namespace event {
constexpr uint32_t kSize = 32, kUserdata = 0, kError = 8, kType = 10, kNbytes = 16, kFlags = 24;
}

}  // namespace wink::wasi::abi
