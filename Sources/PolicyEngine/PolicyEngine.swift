// The PolicyEngine module; its types arrive with the issues that build them.
