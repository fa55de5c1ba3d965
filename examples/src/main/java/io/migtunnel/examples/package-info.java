/** Placeholder: filled by a later issue. */
package io.migtunnel.examples;
