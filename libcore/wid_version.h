#ifndef WID_VERSION_H
#define WID_VERSION_H

#define WID_VERSION "0.1.0"

#endif
