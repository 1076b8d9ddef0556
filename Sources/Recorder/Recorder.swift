// The Recorder module; its types arrive with the issues that build them.
